"""Benchmark the workload board's selector alone (escalation/workload/board.py), not the page.

    python -m bench.board [--agents 200] [--open 10000] [--resolved 3000] [--history 4000]
                          [--ai-only 2000] [--runs 30] [--profile] [--flush]

The whole supervisor page is bench/console.py's; this times the selectors it calls, in-process
(server time: no network, no template). Runs on a fresh database: a temporary SQLite file unless
DATABASE_URL is set (point it at a scratch database; --flush empties one that holds cases).

Seeded in bulk: --agents agents (capacity 5, most online, a few away or with a stale
heartbeat, a break each this shift), --open open cases of which each agent holds up to their
capacity and the rest are queued, --resolved cases resolved this shift, --history resolved
in the 30 days before (the baselines), customer turns on every held case (kept on the case as
the engine keeps them, some negative), and --ai-only conversations that never reached a person
(team intensification reads them).

Timed warm (3 runs discarded), median and p95 of --runs:
- agents_workload(), the board: target <= 100 ms (issue 11);
- agent_workload_detail() of the busiest agent, and team_intensification();
- baselines in the same run: workload_policy() (one trivial query) and the board of a team
  with no agents (the fixed cost of a read).
--profile prints the board's cProfile top functions and its queries' execute() time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bench.scratch import scratch_django


def _p(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(len(ordered) * share) - 1))]


def _timed(run: Callable[[], Any], n: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (this process) milliseconds of n warm runs. On a loaded machine the CPU
    time is what the code costs; the wall time adds waiting for a core and the database."""
    for _ in range(3):
        run()
    wall, cpu = [], []
    for _ in range(n):
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


def _row(name: str, samples: tuple[list[float], list[float]], target: str = "") -> None:
    wall, cpu = samples
    median, p95 = statistics.median(wall), _p(wall, 0.95)
    print(f"  {name:<46}{median:>9.1f}{p95:>9.1f}{statistics.median(cpu):>9.1f}{target:>10}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--resolved", type=int, default=3_000)
    parser.add_argument("--history", type=int, default=4_000)
    parser.add_argument("--ai-only", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--flush", action="store_true", help="empty a database holding cases")
    args = parser.parse_args()

    with scratch_django(flush=args.flush) as vendor:
        return bench_board(args, vendor)


def _seed(args: argparse.Namespace, now: Any) -> int:
    """Returns the busiest agent's user id."""
    from django.contrib.auth import get_user_model

    from conversations.models import Conversation
    from conversations.services import integration_create
    from escalation.models import AgentProfile, Case, ConversationState, PresenceChange, Team
    from escalation.workload.policy import workload_policy

    policy = workload_policy()
    start = now - timedelta(hours=policy.shift_hours)
    User = get_user_model()
    users = User.objects.bulk_create(
        User(username=f"agent{n:03d}", first_name=f"Agent {n:03d}") for n in range(args.agents)
    )
    stale = now - timedelta(minutes=30)
    profiles = AgentProfile.objects.bulk_create(
        AgentProfile(
            user=u,
            presence="away" if n % 10 == 3 else "online",
            away_reason="coffee" if n % 10 == 3 else "",
            presence_since=start - timedelta(minutes=5),
            last_seen_at=stale if n % 25 == 7 else now,
        )
        for n, u in enumerate(users)
    )
    teams = [Team.objects.create(slug=s, name=s.title()) for s in ("general", "billing", "vip")]
    AgentProfile.teams.through.objects.bulk_create(
        AgentProfile.teams.through(agentprofile=p, team=teams[n % 3])
        for n, p in enumerate(profiles)
    )
    PresenceChange.objects.bulk_create(
        PresenceChange(user=u, presence=p, at=start + timedelta(minutes=m), reason=r)
        for n, u in enumerate(users)
        for p, m, r in (
            ("online", -5, ""),
            ("away", 120 + n % 60, "lunch"),
            ("online", 150 + n % 60, ""),
        )
    )

    integration, _ = integration_create(name="bench-board")
    total = args.open + args.resolved + args.history + args.ai_only
    conversations = Conversation.objects.bulk_create(
        (
            Conversation(integration=integration, external_id=f"b-{n:06d}", owner="human")
            for n in range(total)
        ),
        batch_size=2000,
    )
    topics = ["shipping", "refund", "billing", "bereavement", "fraud", "product"]
    span = (now - start).total_seconds()
    cases = []

    def case(n: int, **fields: Any) -> Case:
        d = round(((n * 37) % 100) / 100, 2)
        return Case(
            conversation=conversations[n],
            trigger="handoff",
            reason="customer_request",
            team=teams[n % 3].slug,
            priority=20 + n % 75,
            topic=topics[n % len(topics)],
            risk=(n % 10) / 10,
            sentiment=-((n % 7) / 7),
            summary_line=f"Wants a refund for order #{n:07d}",
            difficulty=d,
            difficulty_parts={"contributions": {"risk": round(d / 2, 3)}},
            **fields,
        )

    def turns(case: Case, at: Any, until: Any) -> None:
        """What human_turns_add keeps: per clock hour (turns, negative), the first negative."""
        hours: dict[str, list[int]] = {}
        first_negative = None
        t, k = at, 0
        while t < until and k < 12:
            key = t.replace(minute=0, second=0, microsecond=0).isoformat()
            negative = (case.conversation_id + k) % 4 == 0
            count = hours.setdefault(key, [0, 0])
            count[0] += 1
            count[1] += int(negative)
            if negative and first_negative is None:
                first_negative = t.isoformat()
            t += timedelta(minutes=4 + (case.conversation_id + k) % 9)
            k += 1
        case.difficulty_parts["human"] = {
            str(case.assignee_id): {"hours": hours, "first_negative": first_negative}
        }

    n = 0
    held = [0] * len(users)
    for i in range(args.open):
        agent = i % len(users)
        if held[agent] < 5 and i < 5 * len(users):
            held[agent] += 1
            assigned = now - timedelta(seconds=(i * 97) % 5400 + 60)
            c = case(
                n,
                status="assigned",
                assignee=users[agent],
                queued_at=assigned - timedelta(minutes=3),
                assigned_at=assigned,
                first_response_at=assigned + timedelta(minutes=2) if i % 3 else None,
            )
            turns(c, assigned + timedelta(minutes=1), now)
        else:
            c = case(n, status="queued", queued_at=now - timedelta(seconds=i * 3 % 7200))
        cases.append(c)
        n += 1
    for i in range(args.resolved):
        agent = i % len(users)
        assigned = start + timedelta(seconds=(i * 131) % (span - 1800))
        resolved = assigned + timedelta(minutes=5 + i % 25)
        c = case(
            n,
            status="resolved",
            assignee=users[agent],
            queued_at=assigned - timedelta(minutes=2),
            assigned_at=assigned,
            first_response_at=assigned + timedelta(minutes=1 + i % 4),
            resolved_at=resolved,
        )
        turns(c, assigned + timedelta(seconds=30), resolved)
        cases.append(c)
        n += 1
    for i in range(args.history):
        agent = i % len(users)
        assigned = start - timedelta(hours=2 + (i * 7) % (24 * 29))
        cases.append(
            case(
                n,
                status="resolved",
                assignee=users[agent],
                queued_at=assigned - timedelta(minutes=2),
                assigned_at=assigned,
                first_response_at=assigned + timedelta(minutes=1 + i % 5),
                resolved_at=assigned + timedelta(minutes=6 + i % 30),
            )
        )
        n += 1
    Case.objects.bulk_create(cases, batch_size=2000)
    ai = conversations[n:]
    ConversationState.objects.bulk_create(
        (
            ConversationState(
                conversation=c,
                risk=(k % 10) / 10,
                sentiment=-((k % 5) / 5),
                topic=topics[k % len(topics)],
                counts={"profanity": k % 3} if k % 4 == 0 else {},
                customer_turns=1 + k % 8,
            )
            for k, c in enumerate(ai)
        ),
        batch_size=2000,
    )
    Conversation.objects.filter(pk__in=[c.pk for c in ai]).update(owner="ai")
    return users[0].pk


def bench_board(args: argparse.Namespace, vendor: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from escalation.workload.board import (
        agent_workload_detail,
        agents_workload,
        team_intensification,
        workload_policy,
    )

    now = timezone.now()
    started = time.perf_counter()
    busiest = _seed(args, now)
    print(
        f"board benchmark on {vendor}: seeded {args.agents} agents, {args.open} open cases, "
        f"{args.resolved} resolved this shift, {args.history} in the 30 days before, "
        f"{args.ai_only} AI-only contacts in {time.perf_counter() - started:.1f} s"
    )
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    try:
        load = os.getloadavg()
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    except OSError:
        pass

    rows = agents_workload(now=now)
    assert len(rows) == args.agents, len(rows)
    print(
        f"the board: {len(rows)} rows, {sum(r.open_cases for r in rows)} cases held, "
        f"{sum(1 for r in rows if r.index_level)} agents amber or red"
    )
    with CaptureQueriesContext(connection) as queries:
        agents_workload(now=now)
    print(f"queries per board read: {len(queries.captured_queries)}")

    board = _timed(lambda: agents_workload(now=now), args.runs)
    empty = _timed(lambda: agents_workload(now=now, team="nobody"), args.runs)
    trivial = _timed(workload_policy, args.runs)
    detail = _timed(lambda: agent_workload_detail(user_id=busiest, now=now), args.runs)
    intensity = _timed(lambda: team_intensification(now=now), max(5, args.runs // 3))

    print(f"\n  {'ms (warm)':<46}{'median':>9}{'p95':>9}{'cpu med':>9}{'target':>10}")
    _row(f"agents_workload(), {args.agents} agents", board, "<= 100")
    _row("  baseline: board of a team with no agents", empty)
    _row("  baseline: workload_policy() (one query)", trivial)
    _row("agent_workload_detail(), the busiest agent", detail)
    _row("team_intensification(), 30 days", intensity)
    ratio = statistics.median(board[0]) / statistics.median(trivial[0])
    print(f"  board / trivial query: {ratio:.0f}x")

    if args.profile:
        with CaptureQueriesContext(connection) as queries:
            profile = cProfile.Profile()
            profile.enable()
            agents_workload(now=now)
            profile.disable()
        # Django times execute() only, to the millisecond: PostgreSQL's whole query, but
        # SQLite does most of its work while the rows are fetched.
        print("\nthe board's queries (execute() time as Django's debug cursor saw it):")
        for q in queries.captured_queries:
            print(f"  {float(q['time']) * 1000:7.1f} ms  {' '.join(q['sql'].split())[:110]}")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
