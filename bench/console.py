"""Benchmark the supervisor console: the board's server time, and a workload change reaching
a supervisor's socket.

    python -m bench.console [--agents 200] [--cases 10000] [--requests 20] [--changes 100]
                            [--flush]

Runs on a fresh database: a temporary SQLite file unless DATABASE_URL is set (on PostgreSQL a
scratch database; --flush empties one that holds cases). Embedded: the in-memory channel
layer, Celery tasks in-process, no LLM.

Seeded: --agents agents over 8 teams, each online since the shift began (a presence log
row), --cases open cases (a quarter held, spread over the agents, with a difficulty; the
queued ones wait for a skill nobody has, so the auto-assignment that runs in-process when
an agent comes online leaves the board as seeded), and as many resolved (half this shift,
so every agent has handle and first-reply times, half over 30 days for their own medians).

1. The console page (/supervisor/), timed in-process with django.test.Client (server time, no
   network), median of --requests. Same-run baselines: wl's board selector alone
   (agents_workload), the health strip's selector alone, and the approvals page (the same
   base template, a few queries).
2. A workload change to the supervisor's socket: daphne on a free loopback port; a supervisor
   has the console open (/ws/desk/supervisor/), an agent their desk (/ws/desk/queue/). For
   each of --changes changes the agent switches between Away and Online on their socket (the
   status switch); timed from sending it until the console socket receives the agent's row
   showing the new status. This includes the console's 50 ms coalescing window and
   rendering the board (the switch names its agent: only that row is read anew). The first
   4 are a warm-up, not counted. Then --takes agents each take a queued case over HTTP (the
   case page's Take), timed until the console shows their row with one more case: a case
   change, so the whole board is read again. Baseline, same run and server: the echo
   socket's round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

from bench.desk import _agent, _analyze, _conversations, _drain, _ms, _p, _row, _timed
from bench.scratch import scratch_django
from bench.server import daphne_server

TEAMS = ("general", "billing", "shipping", "returns", "warranty", "fraud", "accounts", "vip")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--takes", type=int, default=40)
    parser.add_argument("--flush", action="store_true", help="empty a database holding cases")
    args = parser.parse_args()

    with scratch_django(flush=args.flush, prefix="baton-console-") as vendor:
        print(f"console benchmark on {vendor}, in-memory channel layer, tasks in-process")
        agents, supervisor = _seed(args)
        bench_board(args, supervisor)
        return bench_latency(args, agents, supervisor)


def _seed(args: argparse.Namespace) -> tuple[list[Any], Any]:
    from django.utils import timezone

    from conversations.services import integration_create
    from escalation.cases.routing import case_schedule
    from escalation.models import AgentProfile, Case, PresenceChange, Team
    from escalation.workload.board import workload_policy

    started = time.perf_counter()
    rng = random.Random(11)
    now = timezone.now()
    policy = workload_policy()
    shift_start = now - timedelta(hours=policy.shift_hours)
    teams = [Team.objects.create(slug=slug, name=slug.title()) for slug in TEAMS]
    agents = []
    for n in range(args.agents):
        user = _agent(
            f"agent{n:03d}",
            capacity=20,
            presence=AgentProfile.Presence.ONLINE,
            presence_since=shift_start,
            last_seen_at=now,
        )
        user.agent_profile.teams.add(teams[n % len(teams)])
        agents.append(user)
    PresenceChange.objects.bulk_create(
        PresenceChange(user=user, presence=AgentProfile.Presence.ONLINE, at=shift_start)
        for user in agents
    )
    supervisor = _agent("rita", role=AgentProfile.Role.SUPERVISOR, capacity=0)
    integration, _ = integration_create(name="bench-console")

    def case(conversation: Any, n: int, **fields: Any) -> Any:
        row = Case(
            conversation=conversation,
            trigger=Case.Trigger.HANDOFF,
            reason="customer_request",
            team=TEAMS[n % len(TEAMS)],
            priority=20 + n % 75,
            risk=(n % 10) / 10,
            difficulty=round(rng.random(), 3),
            summary_line=f"Order #{n:07d} arrived damaged",
            **fields,
        )
        case_schedule(case=row, now=now - timedelta(seconds=n * 3))
        return row

    rows = []
    for n, conversation in enumerate(_conversations(integration, "open", args.cases)):
        if n % 4 == 0:
            holder = agents[(n // 4) % len(agents)]
            at = now - timedelta(minutes=rng.uniform(1, 60 * policy.shift_hours - 5))
            rows.append(
                case(
                    conversation,
                    n,
                    status=Case.Status.ASSIGNED,
                    assignee=holder,
                    assigned_at=at,
                    first_response_at=at + timedelta(minutes=rng.uniform(0.5, 6)),
                )
            )
        else:
            # Waiting for a skill nobody on the bench has: auto-assignment, which runs
            # in-process whenever an agent comes online, leaves the board as seeded.
            rows.append(
                case(conversation, n, status=Case.Status.QUEUED, required_skill="bench-none")
            )
    # Resolved: as many this shift, and some over the last 30 days (the agents' medians).
    resolved = _conversations(integration, "done", args.cases)
    for n, conversation in enumerate(resolved):
        holder = agents[n % len(agents)]
        back = (
            rng.uniform(10, 60 * policy.shift_hours)
            if n % 2
            else rng.uniform(60 * 24, 60 * 24 * 29)
        )
        at = now - timedelta(minutes=back)
        rows.append(
            case(
                conversation,
                n,
                status=Case.Status.RESOLVED,
                assignee=holder,
                assigned_at=at,
                first_response_at=at + timedelta(minutes=rng.uniform(0.5, 6)),
                resolved_at=at + timedelta(minutes=rng.uniform(3, 25)),
            )
        )
    Case.objects.bulk_create(rows, batch_size=2000)
    _analyze()
    print(
        f"\nseeded {args.agents} agents, {args.cases} open cases and {args.cases} resolved "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return agents, supervisor


def bench_board(args: argparse.Namespace, supervisor: Any) -> None:
    from django.test import Client
    from django.urls import reverse

    from escalation.workload.board import agents_workload
    from escalation.workload.health import queue_health

    client = Client()
    client.force_login(supervisor)
    console_url = reverse("desk:supervisor")
    approvals_url = reverse("desk:approvals")

    def console_page() -> None:
        response = client.get(console_url)
        assert response.status_code == 200
        assert response.content.count(b'class="board-row agent-row') == args.agents

    def board_selector() -> None:
        assert len(agents_workload()) == args.agents

    def health_selector() -> None:
        assert queue_health().total.open == args.cases

    def approvals_page() -> None:
        assert client.get(approvals_url).status_code == 200

    page = _timed(console_page, args.requests)
    board = statistics.median(_timed(board_selector, args.requests))
    health = statistics.median(_timed(health_selector, args.requests))
    trivial = statistics.median(_timed(approvals_page, args.requests))
    print(
        f"\n1. console page, {args.agents} agents, {args.cases} open cases "
        f"(median of {args.requests} requests)"
    )
    _row("", "ms", "target", "same-run baseline")
    _row(
        "console page (median / max)",
        f"{statistics.median(page):.1f} / {max(page):.1f}",
        "<= 100",
        f"board selector {board:.1f} ms; health strip {health:.1f} ms; "
        f"approvals page {trivial:.1f} ms",
    )


def bench_latency(args: argparse.Namespace, agents: list[Any], supervisor: Any) -> int:
    from django.test import Client
    from websockets.sync.client import connect

    from escalation.models import AgentProfile

    # The agent who switches: no room, so coming online assigns them nothing.
    mover = agents[0]
    AgentProfile.objects.filter(user=mover).update(capacity=0)

    def cookie(user: Any) -> str:
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}"

    env = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONWARNINGS": "ignore:No directory at"}
    marker = f'id="agent-{mover.pk}"'
    seen: list[float] = []
    echoes: list[float] = []
    sizes: list[int] = []
    with daphne_server(env=env) as port:
        origin = f"http://127.0.0.1:{port}"
        ws = f"ws://127.0.0.1:{port}"
        with (
            connect(
                f"{ws}/ws/desk/supervisor/",
                additional_headers={"Cookie": cookie(supervisor), "Origin": origin},
                open_timeout=30,
                max_size=None,
            ) as console,
            connect(
                f"{ws}/ws/desk/queue/",
                additional_headers={"Cookie": cookie(mover), "Origin": origin},
                open_timeout=30,
                max_size=None,
            ) as desk,
            connect(f"{ws}/ws/bench/echo/", open_timeout=10) as echo,
        ):
            assert 'id="board"' in console.recv(timeout=30)
            _drain(console, 1.0)
            _drain(desk, 0.2)
            warmup = 4
            for n in range(args.changes + warmup):
                started = time.perf_counter()
                echo.send("ping")
                echo.recv(timeout=10)
                echoes.append(_ms(time.perf_counter() - started))

                presence = "away" if n % 2 == 0 else "online"
                shows = f"presence-{presence}"
                started = time.perf_counter()
                desk.send(json.dumps({"type": "heartbeat", "presence": presence}))
                while True:
                    frame = console.recv(timeout=10)
                    at = frame.find(marker)
                    if at >= 0 and shows in frame[at : at + 1500]:
                        break
                if n >= warmup:
                    seen.append(_ms(time.perf_counter() - started))
                    sizes.append(len(frame))
                _drain(console, 0.15)
                _drain(desk, 0.01)
            _report(args, seen, echoes, sizes)
            sys.stdout.flush()
            taken = _takes(args, agents, port, console)

    _row(
        "case taken (HTTP) -> console row",
        f"{statistics.median(taken):.1f} / {_p(taken, 0.99):.1f}",
        "",
        "a case change: the whole board is read again",
    )
    return 0 if _p(seen, 0.99) <= 300 else 1


def _report(
    args: argparse.Namespace, seen: list[float], echoes: list[float], sizes: list[int]
) -> None:
    print(
        f"\n2. workload change (an agent's status switch) to the console socket, "
        f"{len(seen)} changes, {args.agents} agents and {args.cases} open cases on the board"
    )
    print("   (daphne, in-memory channel layer; includes the 50 ms coalescing window)")
    _row("", "p50 / p99 ms", "target", "same-run baseline (p50 / p99 ms)")
    _row(
        "status switch -> console row",
        f"{statistics.median(seen):.1f} / {_p(seen, 0.99):.1f}",
        "p99 <= 300",
        f"echo round trip {statistics.median(echoes):.2f} / {_p(echoes, 0.99):.2f}; "
        f"frame {statistics.median(sizes) / 1024:.1f} kB",
    )


def _takes(args: argparse.Namespace, agents: list[Any], port: int, console: Any) -> list[float]:
    """Agents take a queued case of their team over HTTP (as the case page's Take does); timed
    until the console shows their row with one more case held."""
    import threading
    import urllib.request

    from django.test import Client

    from escalation.models import Case

    base = f"http://127.0.0.1:{port}"
    csrf = "b" * 32
    samples: list[float] = []
    for n in range(args.takes):
        taker = agents[1 + n % (len(agents) - 1)]
        team = taker.agent_profile.teams.values_list("slug", flat=True).first()
        # Any queued case, moved to the taker's team (auto-assignment may have emptied it).
        case = Case.objects.filter(status=Case.Status.QUEUED).order_by("-id").first()
        held = Case.objects.filter(status=Case.Status.ASSIGNED, assignee=taker).count()
        Case.objects.filter(pk=case.pk).update(required_skill="", team=team)
        client = Client()
        client.force_login(taker)
        request = urllib.request.Request(
            f"{base}/cases/{case.pk}/take/",
            method="POST",
            data=b"",
            headers={
                "Cookie": f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
                "Origin": base,
                "HX-Request": "true",
            },
        )
        marker = f'id="agent-{taker.pk}"'
        shows = f">{held + 1}/"
        started = time.perf_counter()
        answers: list[int] = []
        post = threading.Thread(
            target=lambda r=request, a=answers: a.append(
                urllib.request.urlopen(r, timeout=30).status
            )
        )
        post.start()
        while True:
            try:
                frame = console.recv(timeout=30)
            except TimeoutError:
                post.join()
                sys.exit(f"case {case.pk} taken by {taker.username} (HTTP {answers}) never showed")
            at = frame.find(marker)
            if at >= 0 and shows in frame[at : at + 1500]:
                break
        samples.append(_ms(time.perf_counter() - started))
        post.join()
        _drain(console, 0.15)
    return samples


if __name__ == "__main__":
    sys.exit(main())
