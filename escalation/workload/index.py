"""The agent's task-intensification index, as pure functions over one agent's shift: the cases
they held, the customer turns on them, their presence. board.py gathers the data in bulk;
docs/workload.md gives the formulas and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

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


@dataclass(frozen=True)
class HeldCase:
    """A case the agent held (assigned to resolved, or to now)."""

    case_id: int
    difficulty: float
    assigned_at: datetime
    resolved_at: datetime | None = None
    first_response_at: datetime | None = None
    # When its customer was first upset while the agent held it (None: never).
    upset_from: datetime | None = None


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
    handle_minutes: float | None
    first_reply_minutes: float | None
    index: int
    index_level: str
    index_parts: dict[str, float] = field(default_factory=dict)


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def _overlap(a: Interval, b: Interval) -> timedelta:
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return end - start if end > start else timedelta(0)


def intervals_union(intervals: Sequence[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def intervals_intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Both sorted and non-overlapping."""
    out: list[Interval] = []
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


def _total(intervals: Sequence[Interval], window: Interval) -> timedelta:
    return sum((_overlap(i, window) for i in intervals), timedelta(0))


def minutes_since_break(work: Sequence[Interval], *, start: datetime, at: datetime) -> float:
    """Minutes since the end of the last gap in `work` of BREAK_MIN or more within [start, at];
    0 while such a gap is going on; at - start when there was none."""
    last_end = None
    cursor = start
    for w_start, w_end in work:
        if w_start >= at:
            break
        if w_start - cursor >= BREAK_MIN:
            last_end = w_start
        cursor = max(cursor, min(w_end, at))
    if at - cursor >= BREAK_MIN:
        return 0.0
    return _minutes(at - (last_end or start))


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


def moment(shift: Shift, *, at: datetime, thresholds: Thresholds) -> Moment:
    """The agent's figures at `at`, from what happened in [shift.start, at] only."""
    window = (shift.start, at)
    cases = [c for c in shift.cases if c.assigned_at <= at]
    held = [(max(c.assigned_at, shift.start), min(c.resolved_at or at, at)) for c in cases]
    open_now = [c for c in cases if c.resolved_at is None or c.resolved_at > at]
    load = sum(c.difficulty for c in open_now)
    recent_window = (at - LOAD_WINDOW, at)
    recent = (
        sum(
            c.difficulty
            * _overlap((c.assigned_at, c.resolved_at or at), recent_window).total_seconds()
            for c in cases
        )
        / LOAD_WINDOW.total_seconds()
    )

    turns = sum(b.turns for b in shift.buckets if b.hour < at)
    negative = sum(b.negative for b in shift.buckets if b.hour < at)
    upset = sum(
        (
            _overlap((c.upset_from, min(c.resolved_at or at, at)), window)
            for c in cases
            if c.upset_from is not None and c.upset_from <= at
        ),
        timedelta(0),
    )

    ordered = sorted(cases, key=lambda c: (c.assigned_at, c.case_id), reverse=True)
    hard_run = 0
    for case in ordered:
        if case.difficulty < thresholds.hard:
            break
        hard_run += 1
    easy = [c.assigned_at for c in cases if c.difficulty < thresholds.easy]

    online = [i for i in shift.online if i[0] < at]
    work = intervals_intersect(intervals_union(held), intervals_union(online))
    online_time = _total(online, window)
    occupancy = _total(work, window) / online_time if online_time > timedelta(0) else None
    settled = occupancy if online_time >= OCCUPANCY_MIN_ONLINE else None
    since_break = minutes_since_break(work, start=shift.start, at=at)

    resolved = [
        c for c in cases if c.resolved_at is not None and shift.start <= c.resolved_at <= at
    ]
    handle = [_minutes(c.resolved_at - c.assigned_at) for c in resolved]  # type: ignore[operator]
    replies = [
        _minutes(c.first_response_at - c.assigned_at)
        for c in cases
        if c.first_response_at is not None
        and shift.start <= c.first_response_at <= at
        and c.first_response_at >= c.assigned_at
    ]
    parts = index_parts(
        recent_load=recent,
        negative_share=negative / turns if turns else None,
        upset_minutes=_minutes(upset),
        hard_run=hard_run,
        minutes_since_break=since_break,
        occupancy=settled,
        occupancy_red=thresholds.occupancy_red,
    )
    index = index_value(parts)
    return Moment(
        load=round(load, 3),
        recent_load=round(recent, 3),
        negative_share=round(negative / turns, 3) if turns else None,
        upset_minutes=round(_minutes(upset), 1),
        hard_run=hard_run,
        minutes_since_easy=round(_minutes(at - max(easy)), 1) if easy else None,
        minutes_since_break=round(since_break, 1),
        online_minutes=round(_minutes(online_time), 1),
        occupancy=round(occupancy, 3) if occupancy is not None else None,
        occupancy_level=level(settled, thresholds.occupancy_amber, thresholds.occupancy_red),
        handle_minutes=round(median(handle), 1) if handle else None,
        first_reply_minutes=round(median(replies), 1) if replies else None,
        index=index,
        index_level=level(index, thresholds.index_amber, thresholds.index_red),
        index_parts=parts,
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
