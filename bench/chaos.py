"""Chaos: crash the servers, the worker and Redis while conversations stream in, and count what
was lost.

    python -m bench.chaos [--conversations 200] [--seconds 60] [--keep]

Needs PostgreSQL (DATABASE_URL's server, default postgres://postgres@127.0.0.1:5432/; the
script creates and drops a scratch database `baton_chaos_<pid>`) and `redis-server` on PATH
(it runs its own on a free port, so it can restart it). It starts two daphne processes and a
Celery worker with beat, on the local settings with that Redis.

The platform streams --conversations conversations over 8 sockets, half to each daphne:
- half ask for a person in words ("Can I please speak to a human agent?"), which the engine
  must escalate;
- a quarter end with the AI's own `handoff` event;
- a quarter are calm and close as resolved.
Unacked events are resent after every reconnect, as docs/protocol.md says. Meanwhile: `kill -9`
of the worker (twice), `kill -9` of the first daphne, and Redis killed and restarted, each
brought back a few seconds later. An agent's queue socket on the second daphne and the
platform's sockets there show what crosses between the two servers.

Then, waiting up to 2 minutes: acked events not stored (lost), events stored twice or open
cases doubled (duplicates), conversations that should have escalated with no queued case, and
PostgreSQL deadlocks in the scratch database. Also: closes and errors seen by the clients
while Redis was down.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ASK = "Can I please speak to a human agent?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


class Process:
    """A child process that can be killed with SIGKILL and started again."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int | None = None):
        self.name, self.argv, self.env, self.port = name, argv, env, port
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = open(f"/tmp/baton-chaos-{name}.log", "ab")  # noqa: SIM115 - closed in stop()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv, env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT
        )
        if self.port:
            wait_port(self.port)

    def kill9(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def scenario(n: int) -> tuple[str, list[dict[str, Any]]]:
    """The conversation's kind and its events (without seq and at, added when sent)."""
    conversation = f"chaos-{n:04d}"
    customer = {"external_id": f"cust-{n}", "name": f"Customer {n}"}
    opening = random.choice(
        [
            f"Hi, my order #W{n:07d} hasn't arrived yet.",
            "My tent pole snapped on the first night, what can you do?",
            "I was charged twice for my sleeping bag.",
        ]
    )
    events: list[dict[str, Any]] = [
        {"type": "message", "role": "customer", "text": opening, "customer": customer},
        {"type": "message", "role": "ai", "text": "Sorry about that! Let me look into it."},
    ]
    kind = "ask" if n % 4 in (0, 1) else "handoff" if n % 4 == 2 else "calm"
    if kind == "ask":
        events.append({"type": "message", "role": "customer", "text": ASK})
    elif kind == "handoff":
        events.append({"type": "message", "role": "customer", "text": "Please sort it out."})
        events.append(
            {"type": "handoff", "reason": "policy_limit", "note": "Refund above my limit."}
        )
    else:
        events.append({"type": "message", "role": "customer", "text": "Great, thank you!"})
        events.append({"type": "close", "outcome": "resolved"})
    for k, event in enumerate(events, start=1):
        event["id"] = f"{conversation}-{k}"
        event["conversation"] = conversation
        event["seq"] = k
    return kind, events


class Platform:
    """One ingest socket's worth of conversations: sends, waits for acks, resends the unacked
    after a reconnect (to its own server, or the other one while it is down)."""

    def __init__(self, name: str, urls: list[str], token: str, stats: Counter[str]) -> None:
        self.name, self.urls, self.token, self.stats = name, urls, token, stats
        self.unacked: dict[str, dict[str, Any]] = {}
        self.acked: set[str] = set()
        self.controls: set[str] = set()
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.done = False
        self.all_acked = asyncio.Event()

    async def finish(self, seconds: float = 120) -> None:
        """Once everything is sent: wait for the acks, then close."""
        if self.unacked:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.all_acked.wait(), seconds)
        self.done = True
        if self.ws is not None:
            await self.ws.close()

    async def run(self) -> None:
        from websockets.asyncio.client import connect

        attempt = 0
        while not self.done:
            url = self.urls[attempt % len(self.urls)]
            attempt += 1
            try:
                async with connect(
                    f"{url}/ws/ingest/v1/",
                    additional_headers={"Authorization": f"Bearer {self.token}"},
                    open_timeout=5,
                    max_size=None,
                ) as ws:
                    self.ws = ws
                    self.connected.set()
                    attempt = 0  # back to its own server next time
                    for event in list(self.unacked.values()):
                        await ws.send(json.dumps(event))
                        self.stats["resent"] += 1
                    async for frame in ws:
                        self._on_frame(json.loads(frame))
            except Exception as exc:  # a crash or a refused connect: go round again
                self.stats[f"socket ended: {type(exc).__name__} {getattr(exc, 'rcvd', '')}"] += 1
            finally:
                self.connected.clear()
                self.ws = None
            await asyncio.sleep(0.3)

    def _on_frame(self, frame: dict[str, Any]) -> None:
        self._on_frame_kind(frame)
        if not self.unacked:
            self.all_acked.set()

    def _on_frame_kind(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "ack":
            self.acked.add(frame["id"])
            self.unacked.pop(frame["id"], None)
        elif kind == "error":
            self.stats[f"error {frame.get('code')}"] += 1
            if frame.get("id") in self.unacked and frame.get("code") == "duplicate":
                self.acked.add(frame["id"])
                self.unacked.pop(frame["id"])
        elif kind == "control":
            self.controls.add(frame["conversation"])

    async def send(self, event: dict[str, Any]) -> None:
        self.unacked[event["id"]] = event
        self.all_acked.clear()
        if self.ws is not None:
            with contextlib.suppress(Exception):  # resent after the reconnect
                await self.ws.send(json.dumps(event))


class DeskWatcher:
    """An agent's queue socket on one server: the conversations its pushes named."""

    def __init__(self, url: str, session: str) -> None:
        self.url, self.session = url, session
        self.seen: set[str] = set()

    async def run(self, stop: asyncio.Event) -> None:
        import re

        from websockets.asyncio.client import connect

        names = re.compile(r">(chaos-\d+)<")
        while not stop.is_set():
            try:
                async with connect(
                    f"{self.url}/ws/desk/queue/",
                    additional_headers={
                        "Cookie": f"sessionid={self.session}",
                        "Origin": self.url.replace("ws://", "http://"),
                    },
                    open_timeout=5,
                    max_size=None,
                ) as ws:
                    first = True
                    async for frame in ws:
                        if not first:  # the connect's resync is not a push
                            self.seen.update(names.findall(frame))
                        first = False
                        if stop.is_set():
                            break
            except Exception:  # the server was killed: reconnect
                await asyncio.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    random.seed(7)

    import psycopg

    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    base = server.rsplit("/", 1)[0]
    name = f"baton_chaos_{os.getpid()}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    redis_port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"{base}/{name}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "BATON_INGEST_RATE": "1000000",
        "BATON_INGEST_BURST": "1000000",
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore:No directory at",
    }
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL")})
    redis = Process(
        "redis",
        ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
        env,
        redis_port,
    )
    ports = [free_port(), free_port()]
    daphnes = [
        Process(
            f"daphne{k}",
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "config.asgi:application",
            ],
            env,
            port,
        )
        for k, port in enumerate(ports)
    ]
    worker = Process(
        "worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-B",
            "-c",
            "2",
            "--loglevel",
            "WARNING",
            "-s",
            f"/tmp/baton-chaos-beat-{os.getpid()}",
        ],
        env,
    )
    everything = [redis, *daphnes, worker]
    try:
        redis.start()
        token, session = _setup()
        for process in (*daphnes, worker):
            process.start()
        time.sleep(3)  # the worker connects
        report = asyncio.run(_stream(args, ports, token, session, daphnes, worker, redis))
        _verify(report)
    finally:
        for process in everything:
            process.stop()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return 0


def _setup() -> tuple[str, str]:
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from bench.desk import _agent
    from conversations.services import integration_create

    call_command("migrate", verbosity=0)
    _, token = integration_create(name="chaos-bot")
    client = Client()
    client.force_login(_agent("watcher", capacity=0))
    return token, client.cookies["sessionid"].value


async def _stream(
    args: argparse.Namespace,
    ports: list[int],
    token: str,
    session: str,
    daphnes: list[Process],
    worker: Process,
    redis: Process,
) -> dict[str, Any]:
    urls = [f"ws://127.0.0.1:{port}" for port in ports]
    stats: Counter[str] = Counter()
    platforms = [
        Platform(f"p{k}", [urls[k % 2], urls[(k + 1) % 2]], token, stats) for k in range(8)
    ]
    watcher = DeskWatcher(urls[1], session)
    watch_stop = asyncio.Event()
    runners = [asyncio.create_task(p.run()) for p in platforms]
    watching = asyncio.create_task(watcher.run(watch_stop))
    for platform in platforms:
        await asyncio.wait_for(platform.connected.wait(), 15)

    kinds: dict[str, str] = {}
    via: dict[str, int] = {}
    plans = []
    for n in range(args.conversations):
        kind, events = scenario(n)
        kinds[events[0]["conversation"]] = kind
        via[events[0]["conversation"]] = n % 8 % 2  # which daphne its platform socket uses
        plans.append((platforms[n % 8], events))

    chaos = [
        (0.15, "kill -9 worker", lambda: worker.kill9(), lambda: worker.start()),
        (0.35, "kill -9 daphne 0", lambda: daphnes[0].kill9(), lambda: daphnes[0].start()),
        (0.55, "Redis killed", lambda: redis.kill9(), lambda: redis.start()),
        (0.75, "kill -9 worker", lambda: worker.kill9(), lambda: worker.start()),
    ]
    log: list[str] = []

    async def run_chaos() -> None:
        started = time.monotonic()
        for share, what, kill, restart in chaos:
            await asyncio.sleep(max(0, started + share * args.seconds - time.monotonic()))
            kill()
            log.append(f"{time.monotonic() - started:5.1f} s  {what}")
            down = dict(stats)
            await asyncio.sleep(3)
            await asyncio.to_thread(restart)
            after = {k: v - down.get(k, 0) for k, v in stats.items() if v != down.get(k, 0)}
            log.append(f"{time.monotonic() - started:5.1f} s  back; meanwhile {after}")

    chaos_task = asyncio.create_task(run_chaos())
    # Each conversation's events go out over the run, a step every few seconds.
    steps = max(len(events) for _, events in plans)
    per_step = args.seconds / steps
    started = time.monotonic()
    for step in range(steps):
        batch = [(p, events[step]) for p, events in plans if step < len(events)]
        random.shuffle(batch)
        for k, (platform, event) in enumerate(batch):
            due = started + step * per_step + per_step * k / len(batch)
            await asyncio.sleep(max(0, due - time.monotonic()))
            event["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            await platform.send(event)
    await chaos_task
    await asyncio.gather(*(p.finish() for p in platforms))
    await asyncio.wait_for(asyncio.gather(*runners), 30)
    streamed = time.monotonic()
    should = {c for c, kind in kinds.items() if kind in ("ask", "handoff")}
    deadline = streamed + 120
    while True:
        with_case = await asyncio.to_thread(_with_queued_case)
        if should <= with_case or time.monotonic() > deadline:
            break
        await asyncio.sleep(2)
    waited = time.monotonic() - streamed
    watch_stop.set()
    watching.cancel()
    with contextlib.suppress(BaseException):
        await watching
    return {
        "should": should,
        "with_case": with_case,
        "waited": waited,
        "kinds": kinds,
        "via": via,
        "platforms": platforms,
        "watcher": watcher,
        "stats": stats,
        "log": log,
    }


def _with_queued_case() -> set[str]:
    from django.db import connection

    from escalation.models import Case

    try:
        return set(
            Case.objects.filter(status__in=[Case.Status.QUEUED, Case.Status.ASSIGNED]).values_list(
                "conversation__external_id", flat=True
            )
        )
    finally:
        connection.close()


def _verify(report: dict[str, Any]) -> None:
    from django.db import connection
    from django.db.models import Count

    from conversations.models import Event
    from escalation.models import Case

    kinds, stats = report["kinds"], report["stats"]
    acked = set().union(*(p.acked for p in report["platforms"]))
    should, with_case, waited = report["should"], report["with_case"], report["waited"]

    stored = set(Event.objects.values_list("event_id", flat=True))
    doubled_events = (
        Event.objects.values("integration_id", "event_id").annotate(n=Count("id")).filter(n__gt=1)
    )
    doubled_cases = (
        Case.objects.exclude(status=Case.Status.RESOLVED)
        .values("conversation_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    calm_cases = Case.objects.filter(
        conversation__external_id__in=[c for c, k in kinds.items() if k == "calm"]
    ).count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        deadlocks = cursor.fetchone()[0]
    crossed_desk = {c for c in report["watcher"].seen if report["via"].get(c) == 0}
    crossed_control = set().union(
        *(p.controls for k, p in enumerate(report["platforms"]) if k % 2 == 1)
    ) & {c for c, v in report["via"].items() if v == 0}
    escalated_via_0 = {c for c in should if report["via"][c] == 0}

    print("\nchaos run")
    for line in report["log"]:
        print("  " + line)
    print()
    rows = [
        ("events acked", len(acked), ""),
        ("acked events not stored (lost)", len(acked - stored), "0"),
        ("events stored twice", doubled_events.count(), "0"),
        ("conversations with two open cases", doubled_cases.count(), "0"),
        (
            "escalations with no queued case",
            len(should - with_case),
            f"0 (of {len(should)}, waited {waited:.0f} s)",
        ),
        ("calm conversations given a case", calm_cases, "0"),
        ("PostgreSQL deadlocks", deadlocks, "0"),
        (
            "desk pushes crossing daphne 0 -> 1",
            len(crossed_desk),
            f"of {len(escalated_via_0)} escalated via 0",
        ),
        (
            "control frames crossing daphne 0 -> 1",
            len(crossed_control),
            f"of {len(escalated_via_0)} escalated via 0",
        ),
    ]
    for name, value, target in rows:
        print(f"  {name:<44}{value:>8}   {target}")
    print("\n  what the platform's sockets saw:")
    for name, count in sorted(stats.items()):
        print(f"    {name}: {count}")
    missing = sorted(should - with_case)
    if missing:
        print(f"\n  no queued case: {missing[:10]}")


if __name__ == "__main__":
    sys.exit(main())
