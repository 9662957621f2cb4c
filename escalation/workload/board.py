"""The supervisor's workload board: one row per agent, read in a fixed number of bulk queries
whatever the number of agents (docs/workload.md). Selectors only; nothing here writes but
`workload_policy`'s first read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from escalation.models import AgentProfile, Case, CaseEvent
from escalation.workload.index import (
    INDEX_WEIGHTS,
    Thresholds,
    moments,
    shift_medians,
    sparkline_points,
)
from escalation.workload.intensity import Intensification, team_intensification
from escalation.workload.policy import policy_thresholds, workload_policy
from escalation.workload.shift import Agent, Board, board_load, effective_presence

__all__ = [
    "AgentDetail",
    "AgentWorkload",
    "Intensification",
    "agent_workload_detail",
    "agents_workload",
    "team_intensification",
    "workload_policy",
]

TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class AgentWorkload:
    user_id: int
    name: str
    username: str
    teams: tuple[str, ...]
    presence: str
    presence_since: datetime | None
    away_reason: str
    cooldown_until: datetime | None
    open_cases: int
    capacity: int
    load: float
    negative_share: float | None
    upset_minutes: float
    hard_run: int
    minutes_since_easy: float | None
    minutes_since_break: float | None
    occupancy: float | None
    occupancy_level: str
    handle_minutes: float | None
    handle_median_30d: float | None
    first_reply_minutes: float | None
    first_reply_median_30d: float | None
    index: int
    index_level: str
    index_parts: dict[str, float]
    sparkline: tuple[int, ...]
    # Beyond the contract: the last hour's load the index reads, minutes online this shift,
    # and whether a cool-down is running now.
    recent_load: float = 0.0
    online_minutes: float = 0.0
    cooling_down: bool = False


def _row(board: Board, profile: Agent, thresholds: Thresholds) -> AgentWorkload:
    shift = board.shift(profile)
    sparkline, current = moments(
        shift, points=sparkline_points(start=board.start, now=board.now), thresholds=thresholds
    )
    handle, first_reply = shift_medians(shift, now=board.now)
    presence, since = effective_presence(profile, now=board.now)
    handle_30d, reply_30d = board.baselines.get(profile.user_id, (None, None))
    cooldown = profile.cooldown_until
    return AgentWorkload(
        user_id=profile.user_id,
        name=profile.name,
        username=profile.username,
        teams=profile.teams,
        presence=presence,
        presence_since=since,
        away_reason=profile.away_reason if presence == AgentProfile.Presence.AWAY else "",
        cooldown_until=cooldown,
        open_cases=sum(1 for c in shift.cases if c.resolved_at is None),
        capacity=profile.capacity,
        load=current.load,
        negative_share=current.negative_share,
        upset_minutes=current.upset_minutes,
        hard_run=current.hard_run,
        minutes_since_easy=current.minutes_since_easy,
        minutes_since_break=current.minutes_since_break,
        occupancy=current.occupancy,
        occupancy_level=current.occupancy_level,
        handle_minutes=handle,
        handle_median_30d=round(handle_30d, 1) if handle_30d is not None else None,
        first_reply_minutes=first_reply,
        first_reply_median_30d=round(reply_30d, 1) if reply_30d is not None else None,
        index=current.index,
        index_level=current.index_level,
        index_parts=current.index_parts,
        sparkline=tuple(sparkline),
        recent_load=current.recent_load,
        online_minutes=current.online_minutes,
        cooling_down=cooldown is not None and cooldown > board.now,
    )


def agents_workload(*, now: datetime | None = None, team: str | None = None) -> list[AgentWorkload]:
    """One row per active agent (of `team`), sorted by name. A fixed number of queries."""
    now = now or timezone.now()
    board = board_load(now=now, team=team)
    thresholds = policy_thresholds(board.policy)
    return [_row(board, p, thresholds) for p in board.profiles]


INDEX_PART_LABELS = {
    "load": "Difficulty held, last hour",
    "exposure": "Negative-sentiment exposure",
    "hard_run": "Consecutive hard cases",
    "break": "Time since last break",
    "occupancy": "Occupancy",
}


@dataclass(frozen=True)
class IndexPart:
    name: str
    label: str
    value: float  # the part's strength, 0-1
    weight: float
    points: float  # what it adds to the index: 100 * weight * value


@dataclass(frozen=True)
class DetailCase:
    case_id: int
    status: str
    team: str
    summary: str
    difficulty: float
    # Part name -> what it adds to d (Case.difficulty_parts["contributions"]).
    difficulty_parts: dict[str, float]
    assigned_at: datetime | None
    resolved_at: datetime | None
    handle_minutes: float | None
    first_reply_minutes: float | None
    hard: bool
    easy: bool


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # a CaseEvent kind, or "presence"
    text: str
    case_id: int | None = None


@dataclass(frozen=True)
class AgentDetail:
    row: AgentWorkload
    shift_start: datetime
    open_cases: tuple[DetailCase, ...]
    recent_cases: tuple[DetailCase, ...]  # held this shift and resolved, newest first
    timeline: tuple[TimelineEntry, ...]  # oldest first
    parts: tuple[IndexPart, ...]
    sparkline_hours: tuple[datetime, ...]  # the moment of each sparkline point


def _minutes_between(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None or b < a:
        return None
    return round((b - a).total_seconds() / 60, 1)


def _detail_case(case: Case, thresholds: Thresholds) -> DetailCase:
    return DetailCase(
        case_id=case.pk,
        status=case.status,
        team=case.team,
        summary=case.summary_line or case.reason,
        difficulty=case.difficulty,
        difficulty_parts=dict((case.difficulty_parts or {}).get("contributions") or {}),
        assigned_at=case.assigned_at,
        resolved_at=case.resolved_at,
        handle_minutes=_minutes_between(case.assigned_at, case.resolved_at),
        first_reply_minutes=_minutes_between(case.assigned_at, case.first_response_at),
        hard=case.difficulty >= thresholds.hard,
        easy=case.difficulty < thresholds.easy,
    )


def _timeline(*, user_id: int, board: Board) -> list[TimelineEntry]:
    Kind = CaseEvent.Kind
    mine = (
        Q(kind=Kind.ASSIGNED, data__to=user_id)
        | Q(kind=Kind.REQUEUED, data__from=user_id)
        | Q(kind__in=[Kind.RESOLVED, Kind.TRANSFER, Kind.MERGED], actor_id=user_id)
    )
    events = (
        CaseEvent.objects.filter(mine, at__gte=board.start, at__lte=board.now)
        .select_related("actor")
        .order_by("-at", "-id")[:TIMELINE_LIMIT]
    )
    entries = [TimelineEntry(at=e.at, kind=e.kind, text=e.line, case_id=e.case_id) for e in events]
    labels = dict(AgentProfile.Presence.choices)
    for at, presence, reason in board.changes.get(user_id, ()):
        text = labels.get(presence, presence) + (f": {reason}" if reason else "")
        entries.append(TimelineEntry(at=at, kind="presence", text=text))
    return sorted(entries, key=lambda e: e.at)


def agent_workload_detail(*, user_id: int, now: datetime | None = None) -> AgentDetail | None:
    """One agent's row, their open and recent cases with d, the shift's timeline (cases taken
    and resolved, presence changes) and the index's parts. None if they are not an agent."""
    now = now or timezone.now()
    board = board_load(now=now, user_ids=[user_id])
    if not board.profiles:
        return None
    thresholds = policy_thresholds(board.policy)
    row = _row(board, board.profiles[0], thresholds)
    ids = [c.case_id for c in board.held.get(user_id, ())]
    cases = [
        _detail_case(c, thresholds)
        for c in Case.objects.filter(pk__in=ids).order_by("-assigned_at", "-id")
    ]
    parts = tuple(
        IndexPart(
            name=name,
            label=INDEX_PART_LABELS[name],
            value=value,
            weight=INDEX_WEIGHTS[name],
            points=round(100 * INDEX_WEIGHTS[name] * value, 1),
        )
        for name, value in row.index_parts.items()
    )
    return AgentDetail(
        row=row,
        shift_start=board.start,
        open_cases=tuple(c for c in cases if c.resolved_at is None),
        recent_cases=tuple(c for c in cases if c.resolved_at is not None),
        timeline=tuple(_timeline(user_id=user_id, board=board)),
        parts=parts,
        sparkline_hours=tuple(sparkline_points(start=board.start, now=now)),
    )
