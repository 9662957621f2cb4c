"""How honest is the customer's wait estimate? A simulated shift, every estimate logged against
the wait that followed it.

    python -m bench.wait_estimate [--agents 6] [--capacity 3] [--hours 6] [--load 0.9]
                                  [--handle 8] [--sigma 0.6] [--every 60] [--seed 13] [--no-breaks] [--flush]

The shift (seeded, so a run is repeatable): --agents agents, each holding up to --capacity
chats at once; arrivals a Poisson stream whose rate swings through the shift around --load
times what the desk can clear (from 0.65 to 1.15 of it: queues build and drain); handling
times log-normal with a median of --handle minutes (--sigma 0.6: a few long ones); with breaks
on, two agents go Away for 30 minutes twice, so the desk's pace drops under the estimator's
feet. Assignment is first-come to the agent at the desk with room and the fewest chats.

What is real: the database rows of cases and agents (a scratch SQLite file unless DATABASE_URL
is set), and Baton's own services on them: `wait_estimate(case_id, now)` when a case arrives and
every --every seconds while it waits (what a live widget shows), `wait_estimate_log` for each
one shown, and `wait_estimates_settle` when it is taken. What is simulated: the clock, the
customers and the agents (they write the rows the desk would).

Reported, over the estimates with a range (the p50 is the point estimate):
- below / inside / above the p50-p90 range: calibrated is 50 / 40 / 10 %;
- mean absolute error of the p50, beside baselines in the same run on the same moments:
  naive, position x the mean handling time of the last hour; naive per seat, that divided by
  the seats at the desk; and Little's law on the same pace (the console's expected wait);
- how often the range was hidden (too little history) and how often "next available" was
  shown, with the wait that followed it.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bench.scratch import scratch_django


@dataclass
class Shown:
    log_id: int
    naive_s: float | None
    per_seat_s: float | None
    little_s: float | None


@dataclass
class Sim:
    args: argparse.Namespace
    rng: random.Random
    start: datetime
    agents: list[int] = field(default_factory=list)
    away: set[int] = field(default_factory=set)
    held: dict[int, int] = field(default_factory=dict)
    queue: deque[int] = field(default_factory=deque)
    handled: deque[tuple[datetime, float]] = field(default_factory=deque)
    shown: list[Shown] = field(default_factory=list)
    hidden: int = 0
    arrivals: int = 0


def _arrival_rate(sim: Sim, minute: float) -> float:
    """Per minute: --load of what the desk clears, swinging from 0.65 to 1.15 of it."""
    a = sim.args
    clears = a.agents * a.capacity / (a.handle * math.exp(a.sigma**2 / 2))
    swing = 0.25 * math.sin(2 * math.pi * minute / (a.hours * 60) * 1.5)
    return clears * (a.load + swing)


def _seed_agents(sim: Sim) -> None:
    from django.contrib.auth import get_user_model

    from escalation.models import AgentProfile, Team

    team = Team.objects.create(slug="support", name="Support")
    # Fresh for the whole simulated shift (it is in the past).
    seen = datetime.now(sim.start.tzinfo) + timedelta(days=1)
    for n in range(sim.args.agents):
        user = get_user_model().objects.create(username=f"agent{n}", first_name=f"Agent {n}")
        profile = AgentProfile.objects.create(
            user=user,
            capacity=sim.args.capacity,
            presence=AgentProfile.Presence.ONLINE,
            last_seen_at=seen,
        )
        profile.teams.add(team)
        sim.agents.append(user.pk)
        sim.held[user.pk] = 0


def _naive(sim: Sim, *, now: datetime, position: int) -> tuple[float | None, float | None]:
    """Seconds: position x the mean handling time of the last hour, and that per seat."""
    while sim.handled and sim.handled[0][0] < now - timedelta(minutes=60):
        sim.handled.popleft()
    if not sim.handled:
        return None, None
    mean = statistics.fmean(h for _, h in sim.handled)
    seats = sum(sim.args.capacity for a in sim.agents if a not in sim.away)
    naive = position * mean * 60
    return naive, naive / seats if seats else None


def _show(sim: Sim, *, case_id: int, now: datetime) -> None:
    from escalation.cases.estimate import wait_estimate, wait_estimate_log
    from escalation.workload.pace import wait_mean_minutes

    estimate = wait_estimate(case_id=case_id, now=now)
    if estimate is None:
        return
    if not estimate.has_range:
        sim.hidden += 1
        return
    row = wait_estimate_log(estimate=estimate)
    naive, per_seat = _naive(sim, now=now, position=estimate.position)
    little = None
    if estimate.window_minutes and estimate.basis:
        needed = max(0, estimate.position - estimate.free_seats)
        done = round(estimate.basis * estimate.window_minutes)
        mean = wait_mean_minutes(ahead=needed, done=done, window_minutes=estimate.window_minutes)
        little = mean * 60 if mean is not None else None
    sim.shown.append(Shown(log_id=row.pk, naive_s=naive, per_seat_s=per_seat, little_s=little))


def _assign(sim: Sim, *, now: datetime, events: list[Any]) -> None:
    from escalation.cases.waiting import wait_estimates_settle
    from escalation.models import Case

    while sim.queue:
        free = [a for a in sim.agents if a not in sim.away and sim.held[a] < sim.args.capacity]
        if not free:
            return
        agent = min(free, key=lambda a: (sim.held[a], a))
        case_id = sim.queue.popleft()
        case = Case(pk=case_id)
        Case.objects.filter(pk=case_id).update(
            status=Case.Status.ASSIGNED, assignee_id=agent, assigned_at=now
        )
        wait_estimates_settle(case=case, at=now)
        sim.held[agent] += 1
        handle = sim.rng.lognormvariate(math.log(sim.args.handle), sim.args.sigma)
        heapq.heappush(events, (now + timedelta(minutes=handle), "done", (case_id, agent, handle)))


def _run(sim: Sim) -> None:
    from conversations.models import Conversation
    from conversations.services import integration_create
    from escalation.models import AgentProfile, Case

    a = sim.args
    bot, _ = integration_create(name="bench-widget")
    end = sim.start + timedelta(hours=a.hours)
    events: list[Any] = [(sim.start, "arrive", None)]
    if a.breaks and len(sim.agents) >= 2:
        for hour in (a.hours / 3, 2 * a.hours / 3):
            at = sim.start + timedelta(hours=hour)
            heapq.heappush(events, (at, "away", tuple(sim.agents[:2])))
            heapq.heappush(events, (at + timedelta(minutes=30), "back", tuple(sim.agents[:2])))
    while events:
        now, kind, data = heapq.heappop(events)
        if kind == "arrive":
            if now >= end:
                continue
            sim.arrivals += 1
            conversation = Conversation.objects.create(
                integration=bot, external_id=f"c{sim.arrivals}", owner="human"
            )
            case = Case.objects.create(
                conversation=conversation,
                status=Case.Status.QUEUED,
                trigger=Case.Trigger.HANDOFF,
                reason="customer_request",
                team="support",
                due_key=now - timedelta(minutes=50),
                sla_due_at=now + timedelta(minutes=15),
            )
            Case.objects.filter(pk=case.pk).update(queued_at=now)
            sim.queue.append(case.pk)
            # The widget shows the wait as the case joins the queue, before routing runs.
            _show(sim, case_id=case.pk, now=now)
            _assign(sim, now=now, events=events)
            minute = (now - sim.start).total_seconds() / 60
            gap = sim.rng.expovariate(_arrival_rate(sim, minute))
            heapq.heappush(events, (now + timedelta(minutes=gap), "arrive", None))
            if case.pk in sim.queue:
                heapq.heappush(events, (now + timedelta(seconds=a.every), "show", case.pk))
        elif kind == "show":
            if data in sim.queue:
                _show(sim, case_id=data, now=now)
                heapq.heappush(events, (now + timedelta(seconds=a.every), "show", data))
        elif kind == "done":
            case_id, agent, handle = data
            Case.objects.filter(pk=case_id).update(status=Case.Status.RESOLVED, resolved_at=now)
            sim.held[agent] -= 1
            sim.handled.append((now, handle))
            _assign(sim, now=now, events=events)
        elif kind in ("away", "back"):
            presence = AgentProfile.Presence.AWAY if kind == "away" else "online"
            AgentProfile.objects.filter(user_id__in=data).update(presence=presence)
            (sim.away.update if kind == "away" else sim.away.difference_update)(data)
            _assign(sim, now=now, events=events)


def _report(sim: Sim, elapsed: float) -> None:
    from escalation.models import WaitEstimateLog

    logs = {
        r.pk: r for r in WaitEstimateLog.objects.filter(actual_wait__isnull=False).order_by("pk")
    }
    nexts = [r for r in logs.values() if r.next_available]
    ranged = [(s, logs[s.log_id]) for s in sim.shown if s.log_id in logs]
    ranged = [(s, r) for s, r in ranged if not r.next_available]
    actual = [r.actual_wait.total_seconds() for _, r in ranged]
    a = sim.args
    print(
        f"shift: {a.hours} h, {a.agents} agents x {a.capacity} chats, handle median {a.handle} "
        f"min, load {a.load}, breaks {'on' if a.breaks else 'off'}, seed {a.seed}"
    )
    print(
        f"cases: {sim.arrivals}; estimates shown with a range: {len(ranged)}, "
        f"'next available': {len(nexts)}, hidden (too little history): {sim.hidden}; "
        f"{elapsed:.1f} s"
    )
    if not ranged:
        print("no settled estimate with a range: nothing to report")
        return
    below = sum(1 for (_, r), w in zip(ranged, actual, strict=True) if w < r.low_s)
    above = sum(1 for (_, r), w in zip(ranged, actual, strict=True) if w > r.high_s)
    n = len(ranged)
    inside = n - below - above
    print(
        f"actual wait: median {statistics.median(actual) / 60:.1f} min, "
        f"p90 {sorted(actual)[int(0.9 * (n - 1))] / 60:.1f} min"
    )
    print(
        f"\nrange p50-p90: below {100 * below / n:.0f} %, inside {100 * inside / n:.0f} %, "
        f"above {100 * above / n:.0f} %   (calibrated: 50 / 40 / 10)"
    )
    print(f"  within the p90 (the worst case shown holds): {100 * (n - above) / n:.0f} %")

    def mae(points: list[float | None]) -> tuple[float, int]:
        pairs = [(p, w) for p, w in zip(points, actual, strict=True) if p is not None]
        return statistics.fmean(abs(p - w) for p, w in pairs) / 60, len(pairs)

    ours, n_ours = mae([r.low_s for _, r in ranged])
    print(f"\n  {'mean absolute error, minutes':<52}{'MAE':>7}{'n':>7}{'ratio':>8}")
    print(f"  {'Baton: p50 of the range':<52}{ours:>7.2f}{n_ours:>7}{1.0:>8.2f}")
    for name, points in (
        ("naive: position x mean handle time", [s.naive_s for s, _ in ranged]),
        ("naive per seat: that / seats at the desk", [s.per_seat_s for s, _ in ranged]),
        ("Little's law on the same pace (console)", [s.little_s for s, _ in ranged]),
    ):
        err, count = mae(points)
        print(f"  {name:<52}{err:>7.2f}{count:>7}{err / ours if ours else math.inf:>8.2f}")
    if nexts:
        waits = [r.actual_wait.total_seconds() for r in nexts]
        print(f"\n'next available' shown {len(nexts)} times: taken within {max(waits):.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=6)
    parser.add_argument("--capacity", type=int, default=3)
    parser.add_argument("--hours", type=float, default=6)
    parser.add_argument("--load", type=float, default=0.9)
    parser.add_argument("--handle", type=float, default=8.0, help="median minutes")
    parser.add_argument("--sigma", type=float, default=0.6, help="log-normal spread")
    parser.add_argument("--every", type=int, default=60, help="seconds between refreshes")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--no-breaks", dest="breaks", action="store_false")
    parser.add_argument("--flush", action="store_true", help="empty a database holding cases")
    args = parser.parse_args()
    with scratch_django(flush=args.flush, prefix="baton-bench-wait-"):
        from django.utils import timezone

        start = timezone.now() - timedelta(hours=args.hours + 2)
        sim = Sim(args=args, rng=random.Random(args.seed), start=start)
        _seed_agents(sim)
        began = time.perf_counter()
        from django.db import transaction

        # One transaction: the simulated desk's writes need no fsync each.
        with transaction.atomic():
            _run(sim)
        _report(sim, time.perf_counter() - began)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
