"""The agent's task-intensification index, as pure functions over one agent's shift: the cases
they held, the customer turns on them, their presence. board.py gathers the data in bulk;
docs/workload.md gives the formulas and why."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from statistics import median
from typing import NamedTuple

# A customer turn at or below this sentiment is negative (the desk's "frustrated" band,
# escalation/packets.py feeling_label); a case whose customer wrote one, or was handed over
# this low, has an upset customer from then on.
NEGATIVE_SENTIMENT = -0.15
# A gap in work (Away, offline, or no case held) this long is a break.
BREAK_MIN = timedelta(minutes=5)
# Recent load: the difficulty held, averaged over this window before the moment.
LOAD_WINDOW = timedelta(minutes=60)
# Where each part reaches full strength.
LOAD_FULL = 2.0
UPSET_FULL_MINUTES = 60.0
HARD_RUN_FULL = 5
BREAK_FULL_MINUTES = 120.0
OCCUPANCY_FLOOR = 0.5
# Occupancy over less online time than this is noise: no level and no part of the index.
OCCUPANCY_MIN_ONLINE = timedelta(minutes=15)

INDEX_WEIGHTS: dict[str, float] = {
    "load": 0.30,
    "exposure": 0.20,
    "hard_run": 0.25,
    "break": 0.10,
    "occupancy": 0.15,
}

Interval = tuple[datetime, datetime]


class HeldCase(NamedTuple):
    """A case the agent held, its times in seconds since the epoch (assigned to resolved, or
    to now). A tuple of numbers: the board makes one for every case held, on every read."""

    case_id: int
    difficulty: float
    assigned_at: float
    resolved_at: float | None = None
    first_response_at: float | None = None
    # When its customer was first upset while the agent held it (None: never).
    upset_from: float | None = None


@dataclass(frozen=True)
class TurnBucket:
    """The customer's messages on the agent's cases in one clock hour."""

    hour: datetime
    turns: int
    negative: int


@dataclass(frozen=True)
class Thresholds:
    hard: float = 0.6
    easy: float = 0.3
    index_amber: int = 60
    index_red: int = 80
    occupancy_amber: float = 0.85
    occupancy_red: float = 0.90


@dataclass(frozen=True)
class Shift:
    """One agent's shift as data: everything the index reads."""

    start: datetime
    cases: Sequence[HeldCase]
    buckets: Sequence[TurnBucket] = ()
    # Sorted, non-overlapping (start, end) intervals of presence Online, within the shift.
    online: Sequence[Interval] = ()


def level(value: float | None, amber: float, red: float) -> str:
    if value is None:
        return ""
    if value >= red:
        return "red"
    if value >= amber:
        return "amber"
    return ""


def _clamp(x: float) -> float:
    return min(1.0, max(0.0, x))


def index_parts(
    *,
    recent_load: float,
    negative_share: float | None,
    upset_minutes: float,
    hard_run: int,
    minutes_since_break: float | None,
    occupancy: float | None,
    occupancy_red: float,
) -> dict[str, float]:
    """Each part of the index in [0, 1] (docs/workload.md, "Agent index")."""
    exposure = 0.6 * (negative_share or 0.0) + 0.4 * _clamp(upset_minutes / UPSET_FULL_MINUTES)
    occupancy_part = 0.0
    if occupancy is not None and occupancy_red > OCCUPANCY_FLOOR:
        occupancy_part = _clamp((occupancy - OCCUPANCY_FLOOR) / (occupancy_red - OCCUPANCY_FLOOR))
    return {
        "load": round(_clamp(recent_load / LOAD_FULL), 4),
        "exposure": round(_clamp(exposure), 4),
        "hard_run": round(_clamp(hard_run / HARD_RUN_FULL), 4),
        "break": round(_clamp((minutes_since_break or 0.0) / BREAK_FULL_MINUTES), 4),
        "occupancy": round(occupancy_part, 4),
    }


def index_value(parts: dict[str, float]) -> int:
    """0-100: the weighted sum of the parts."""
    return round(100 * sum(INDEX_WEIGHTS[k] * v for k, v in parts.items()))


@dataclass
class Moment:
    """The agent's figures at one moment of the shift."""

    load: float
    recent_load: float
    negative_share: float | None
    upset_minutes: float
    hard_run: int
    minutes_since_easy: float | None
    minutes_since_break: float | None
    online_minutes: float
    occupancy: float | None
    occupancy_level: str
    index: int
    index_level: str
    index_parts: dict[str, float] = field(default_factory=dict)


# Times below are seconds since the epoch: the sweep runs for every agent on every read.
Span = tuple[float, float]
_OPEN = float("inf")


def spans_union(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(i for i in spans if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def spans_intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """Both sorted and non-overlapping."""
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _covered(spans: Sequence[Span], start: float, end: float) -> float:
    total = 0.0
    for a, b in spans:
        if a >= end:
            break
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            total += hi - lo
    return total


def seconds_since_break(work: Sequence[Span], *, start: float, at: float) -> float:
    """Seconds since the end of the last gap in `work` of BREAK_MIN or more within [start, at];
    0 while such a gap is going on; at - start when there was none."""
    gap = BREAK_MIN.total_seconds()
    last_end = None
    cursor = start
    for w_start, w_end in work:
        if w_start >= at:
            break
        if w_start - cursor >= gap:
            last_end = w_start
        cursor = max(cursor, min(w_end, at))
    if at - cursor >= gap:
        return 0.0
    return at - (last_end if last_end is not None else start)


def _step_integrals(
    events: list[tuple[float, float]], queries: Sequence[float]
) -> dict[float, tuple[float, float]]:
    """A step function that jumps by `delta` at each (time, delta): at each query time (sorted
    ascending), its integral since the first jump and its value there (jumps at it applied)."""
    events.sort()
    out: dict[float, tuple[float, float]] = {}
    value = area = 0.0
    last = events[0][0] if events else 0.0
    i = 0
    for q in queries:
        while i < len(events) and events[i][0] <= q:
            t, delta = events[i]
            area += value * (t - last)
            value += delta
            last = t
            i += 1
        out[q] = (area + value * (q - last) if q > last else area, value)
    return out


def moments(
    shift: Shift, *, points: Sequence[datetime], thresholds: Thresholds
) -> tuple[list[int], Moment]:
    """The index at each of `points` (ascending; the sparkline) and every figure at the last,
    each from what happened in [shift.start, point] only: one sweep over the shift."""
    s = shift.start.timestamp()
    at_points = [p.timestamp() for p in points]
    cases = sorted(shift.cases, key=attrgetter("assigned_at", "case_id"))
    starts = [c.assigned_at for c in cases]
    ends = [_OPEN if c.resolved_at is None else c.resolved_at for c in cases]

    load_events: list[tuple[float, float]] = []
    upset_events: list[tuple[float, float]] = []
    runs: list[int] = []
    run = 0
    easy_starts: list[float] = []
    hard, easy = thresholds.hard, thresholds.easy
    for case, e in zip(cases, ends, strict=True):
        d = case.difficulty
        load_events.append((case.assigned_at, d))
        if e != _OPEN:
            load_events.append((e, -d))
        if case.upset_from is not None:
            u = max(case.upset_from, s)
            if u < e:
                upset_events.append((u, 1.0))
                if e != _OPEN:
                    upset_events.append((e, -1.0))
        run = run + 1 if d >= hard else 0
        runs.append(run)
        if d < easy:
            easy_starts.append(case.assigned_at)
    window = LOAD_WINDOW.total_seconds()
    load_at = _step_integrals(load_events, sorted({q for p in at_points for q in (p - window, p)}))
    upset_at = _step_integrals(upset_events, at_points)

    hours = [b.hour.timestamp() for b in shift.buckets]
    turns_upto, negative_upto = [0], [0]
    for b in shift.buckets:
        turns_upto.append(turns_upto[-1] + b.turns)
        negative_upto.append(negative_upto[-1] + b.negative)

    online = spans_union((a.timestamp(), b.timestamp()) for a, b in shift.online)
    held = spans_union((max(a, s), e) for a, e in zip(starts, ends, strict=True))
    work = spans_intersect(held, online)
    settle = OCCUPANCY_MIN_ONLINE.total_seconds()

    sparkline: list[int] = []
    for p in at_points:
        k = bisect_right(starts, p)
        h = bisect_left(hours, p)
        turns, negative = turns_upto[h], negative_upto[h]
        share = negative / turns if turns else None
        online_time = _covered(online, s, p)
        occupancy = _covered(work, s, p) / online_time if online_time > 0 else None
        settled = occupancy if online_time >= settle else None
        since_break = seconds_since_break(work, start=s, at=p) / 60
        recent = (load_at[p][0] - load_at[p - window][0]) / window
        upset_minutes = upset_at[p][0] / 60
        hard_run = runs[k - 1] if k else 0
        parts = index_parts(
            recent_load=recent,
            negative_share=share,
            upset_minutes=upset_minutes,
            hard_run=hard_run,
            minutes_since_break=since_break,
            occupancy=settled,
            occupancy_red=thresholds.occupancy_red,
        )
        sparkline.append(index_value(parts))
    j = bisect_right(easy_starts, p)
    index = sparkline[-1]
    current = Moment(
        load=round(max(0.0, load_at[p][1]), 3),
        recent_load=round(recent, 3),
        negative_share=round(share, 3) if share is not None else None,
        upset_minutes=round(upset_minutes, 1),
        hard_run=hard_run,
        minutes_since_easy=round((p - easy_starts[j - 1]) / 60, 1) if j else None,
        minutes_since_break=round(since_break, 1),
        online_minutes=round(online_time / 60, 1),
        occupancy=round(occupancy, 3) if occupancy is not None else None,
        occupancy_level=level(settled, thresholds.occupancy_amber, thresholds.occupancy_red),
        index=index,
        index_level=level(index, thresholds.index_amber, thresholds.index_red),
        index_parts=parts,
    )
    return sparkline, current


def shift_medians(shift: Shift, *, now: datetime) -> tuple[float | None, float | None]:
    """Median minutes of handle time (assigned to resolved, for cases resolved this shift)
    and of first reply (assigned to the first agent message, for first replies this shift)."""
    s, t = shift.start.timestamp(), now.timestamp()
    handle = [
        (c.resolved_at - c.assigned_at) / 60
        for c in shift.cases
        if c.resolved_at is not None and s <= c.resolved_at <= t
    ]
    replies = [
        (c.first_response_at - c.assigned_at) / 60
        for c in shift.cases
        if c.first_response_at is not None
        and s <= c.first_response_at <= t
        and c.first_response_at >= c.assigned_at
    ]
    return (
        round(median(handle), 1) if handle else None,
        round(median(replies), 1) if replies else None,
    )


def sparkline_points(*, start: datetime, now: datetime) -> list[datetime]:
    """The ends of the shift's clock hours, then now."""
    first = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    points = []
    point = first
    while point < now:
        points.append(point)
        point += timedelta(hours=1)
    points.append(now)
    return points
