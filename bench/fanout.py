"""Benchmark live fan-out: a handoff reaching every agent socket on one queue, and how many
agent sockets one daphne holds.

    python -m bench.fanout [--sockets 200] [--hold 1000] [--cards 53] [--handoffs 10]
                           [--redis] [--flush]

Runs on a fresh database: a temporary SQLite file unless DATABASE_URL is set (a scratch
database; --flush empties one that holds cases). With --redis the server uses the Redis
channel layer at REDIS_URL (default redis://127.0.0.1:6379/0); tasks still run in-process, so
no worker is needed. Without it: the embedded default (in-memory layer).

1. Fan-out. --sockets agents (one socket each, capacity 0 so nobody takes the case) watch the
   general queue, which holds --cards open cases. For each of --handoffs handoffs: from the
   platform sending the handoff until each agent socket receives the queue fragment naming the
   conversation; p50 and p99 over every socket and handoff. Also: how many of the sockets,
   opened all at once, connected.
2. Held. --hold sockets (the same agents, several sockets each), opened 100 at a time; how
   many connected, and one handoff's p50 / p99 to all of them. Then all close together, and
   one more handoff is timed to a socket opened after.

Baseline, same run and server: the raw echo socket's round trip (bench.echo_asgi).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any

from bench.server import daphne_server

EMBEDDED_ONLY = ("REDIS_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY")


def _p(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(len(ordered) * share) - 1))]


def _row(name: str, value: str, target: str = "", baseline: str = "") -> None:
    print(f"  {name:<44}{value:>18}{target:>14}   {baseline}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--hold", type=int, default=1000)
    parser.add_argument("--cards", type=int, default=53)
    parser.add_argument("--handoffs", type=int, default=10)
    parser.add_argument("--redis", action="store_true", help="the Redis channel layer")
    parser.add_argument("--flush", action="store_true", help="empty a database holding cases")
    args = parser.parse_args()

    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0") if args.redis else ""
    for name in EMBEDDED_ONLY:
        os.environ.pop(name, None)
    tmp = tempfile.mkdtemp(prefix="baton-fanout-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["ALLOWED_HOSTS"] = "localhost,127.0.0.1,testserver"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from escalation.models import Case

    call_command("migrate", verbosity=0)
    if Case.objects.exists():
        if not args.flush:
            sys.exit("the database holds cases: use a scratch database, or pass --flush")
        call_command("flush", interactive=False, verbosity=0)
    layer = "Redis channel layer" if redis_url else "in-memory channel layer"
    print(f"fan-out benchmark on {connection.vendor}, {layer}, tasks in-process")
    try:
        sessions, token = _seed(args)
        connection.close()
        env = {
            **os.environ,
            "BATON_INGEST_RATE": "1000000",
            "BATON_INGEST_BURST": "1000000",
            "LOG_LEVEL": "WARNING",
            "PYTHONWARNINGS": "ignore:No directory at",
        }
        if redis_url:
            env["REDIS_URL"] = redis_url
            env["CELERY_TASK_ALWAYS_EAGER"] = "true"
        with daphne_server(env=env) as port:
            asyncio.run(_run(args, port, sessions, token))
    finally:
        connection.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _seed(args: argparse.Namespace) -> tuple[list[str], str]:
    from django.test import Client

    from bench.desk import _agent, _open_cases
    from conversations.services import integration_create

    integration, token = integration_create(name="bench-fanout")
    holder = _agent("holder", capacity=1000)
    _open_cases(integration, "seed", args.cards, assignees=[holder])
    sessions = []
    for n in range(args.sockets):
        client = Client()  # logging out would delete the session
        client.force_login(_agent(f"agent{n:04d}", capacity=0))
        sessions.append(client.cookies["sessionid"].value)
    return sessions, token


class Desk:
    """One agent socket: records when each marker first appears in a frame."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.markers: dict[str, float] = {}
        self.watch: set[str] = set()
        self.seen: Any = None  # called with each marker as it is first seen
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                now = time.perf_counter()
                for marker in list(self.watch):
                    if marker in frame:
                        self.markers[marker] = now
                        self.watch.discard(marker)
                        if self.seen is not None:
                            self.seen(marker)
        except Exception:  # a closed socket ends its reader
            return


async def _open(url: str, session: str, origin: str) -> Desk | None:
    from websockets.asyncio.client import connect

    try:
        ws = await connect(
            url,
            additional_headers={"Cookie": f"sessionid={session}", "Origin": origin},
            open_timeout=20,
            max_size=None,
        )
        first = await asyncio.wait_for(ws.recv(), 30)
    except Exception:  # counted as not connected
        return None
    if 'id="queue-list"' not in first:
        await ws.close()
        return None
    return Desk(ws)


async def _echo_round_trips(url: str, count: int = 50) -> list[float]:
    from websockets.asyncio.client import connect

    samples = []
    async with connect(url) as echo:
        for _ in range(count):
            started = time.perf_counter()
            await echo.send("ping")
            await echo.recv()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


class Platform:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.n = 0

    async def handoff(self, desks: list[Desk], wait: float = 60) -> tuple[list[float], int]:
        """One conversation's message then handoff; the ms until each desk saw it, and how
        many desks never did within `wait` seconds."""
        self.n += 1
        conversation = f"fan-{self.n:05d}-{int(time.time())}"
        message = {
            "type": "message",
            "id": f"{conversation}-1",
            "conversation": conversation,
            "seq": 1,
            "at": "2026-11-27T10:00:00Z",
            "role": "customer",
            "text": "Hi, my tent pole snapped on the first night.",
            "customer": {"external_id": f"cust-{conversation}", "name": "Dana Reyes"},
        }
        await self.ws.send(json.dumps(message))
        await self._until(lambda frame: frame.get("type") == "ack")
        await asyncio.sleep(0.3)  # the message's own pushes settle
        marker = f">{conversation}<"
        everyone = asyncio.Event()
        waiting = {"n": len(desks)}

        def seen(_: str) -> None:
            waiting["n"] -= 1
            if waiting["n"] == 0:
                everyone.set()

        for desk in desks:
            desk.seen = seen
            desk.watch.add(marker)
        handoff = {
            "type": "handoff",
            "id": f"{conversation}-2",
            "conversation": conversation,
            "seq": 2,
            "at": "2026-11-27T10:00:01Z",
            "reason": "customer_request",
            "note": "The customer asked for a person.",
        }
        started = time.perf_counter()
        await self.ws.send(json.dumps(handoff))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everyone.wait(), wait)
        seen = [(d.markers[marker] - started) * 1000 for d in desks if marker in d.markers]
        for desk in desks:
            desk.watch.discard(marker)
        await asyncio.sleep(0.3)
        return seen, len(desks) - len(seen)

    async def _until(self, done: Any) -> None:
        while not done(json.loads(await asyncio.wait_for(self.ws.recv(), 30))):
            pass


async def _run(args: argparse.Namespace, port: int, sessions: list[str], token: str) -> None:
    from websockets.asyncio.client import connect

    origin = f"http://127.0.0.1:{port}"
    queue_url = f"ws://127.0.0.1:{port}/ws/desk/queue/"
    echo = await _echo_round_trips(f"ws://127.0.0.1:{port}/ws/bench/echo/")
    baseline = f"echo round trip {statistics.median(echo):.2f} / {_p(echo, 0.99):.2f}"

    async with connect(
        f"ws://127.0.0.1:{port}/ws/ingest/v1/",
        additional_headers={"Authorization": f"Bearer {token}"},
        max_size=None,
    ) as ws:
        platform = Platform(ws)

        started = time.perf_counter()
        opened = await asyncio.gather(*(_open(queue_url, s, origin) for s in sessions))
        open_seconds = time.perf_counter() - started
        desks = [d for d in opened if d is not None]
        print(f"\n1. a handoff to {len(desks)} agent sockets, {args.cards} cards on the queue")
        _row("", "p50 / p99 ms", "target", "same-run baseline (p50 / p99 ms)")
        _row(
            f"{len(sessions)} sockets opened at once",
            f"{len(desks)} connected",
            f"{len(sessions)}",
            f"in {open_seconds:.1f} s",
        )
        if not desks:
            sys.exit("no agent socket connected")
        samples: list[float] = []
        missed = 0
        for _ in range(args.handoffs):
            seen, lost = await platform.handoff(desks)
            samples += seen
            missed += lost
        _row(
            "handoff -> queue fragment on every socket",
            f"{statistics.median(samples):.0f} / {_p(samples, 0.99):.0f}",
            "p99 <= 300",
            baseline,
        )
        _row("fragments that never arrived (60 s)", str(missed), "0")

        if args.hold:
            more: list[Desk] = []
            started = time.perf_counter()
            while len(desks) + len(more) < args.hold:
                want = min(100, args.hold - len(desks) - len(more))
                batch = [sessions[(len(more) + n) % len(sessions)] for n in range(want)]
                got = await asyncio.gather(*(_open(queue_url, s, origin) for s in batch))
                more += [d for d in got if d is not None]
                if len([d for d in got if d is not None]) == 0:
                    break
            held = desks + more
            print(f"\n2. {args.hold} agent sockets held")
            _row(
                "sockets connected",
                f"{len(held)} of {args.hold}",
                f"{args.hold}",
                f"in {time.perf_counter() - started:.1f} s",
            )
            seen, lost = await platform.handoff(held, wait=120)
            if seen:
                _row(
                    f"handoff -> {len(held)} sockets",
                    f"{statistics.median(seen):.0f} / {_p(seen, 0.99):.0f}",
                    "",
                    f"{lost} never arrived",
                )
            started = time.perf_counter()
            await asyncio.gather(*(d.ws.close() for d in held))
            closed = time.perf_counter() - started
            fresh = await _open(queue_url, sessions[0], origin)
            if fresh is not None:
                seen, lost = await platform.handoff([fresh])
                _row(
                    f"after {len(held)} closed together: handoff",
                    f"{seen[0]:.0f} ms" if seen else "never",
                    "",
                    f"closing took {closed:.1f} s",
                )
                await fresh.ws.close()


if __name__ == "__main__":
    sys.exit(main())
