"""What the board reads, in bulk: a fixed number of queries for any number of agents. Each
loader returns plain data keyed by the agent's user id; index.py computes from it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import (
    Aggregate,
    DurationField,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    Subquery,
    TextField,
)

from escalation.cases.routing import PRESENCE_TIMEOUT
from escalation.models import AgentProfile, Case, PresenceChange, WorkloadPolicy
from escalation.workload.index import (
    NEGATIVE_SENTIMENT,
    HeldCase,
    Interval,
    Shift,
    TurnBucket,
)
from escalation.workload.policy import workload_policy

BASELINE_DAYS = 30


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5); works on intervals."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def _shift_start(policy: WorkloadPolicy, now: datetime) -> datetime:
    return now - timedelta(hours=policy.shift_hours)


def _roster(*, team: str | None, user_ids: Iterable[int] | None) -> Any:
    """The agents on the board. The loaders filter by it as a subquery: a list of hundreds of
    ids costs more to send, and to prepare, than the database takes to run it."""
    roster = AgentProfile.objects.filter(role=AgentProfile.Role.AGENT, user__is_active=True)
    if team:
        roster = roster.filter(teams__slug=team)
    if user_ids is not None:
        roster = roster.filter(user_id__in=list(user_ids))
    return roster


class Agent(NamedTuple):
    """An agent as the board reads them: plain values, not model instances (hundreds a read)."""

    user_id: int
    username: str
    first_name: str
    last_name: str
    presence: str
    presence_since: datetime | None
    last_seen_at: datetime | None
    away_reason: str
    cooldown_until: datetime | None
    capacity: int
    # Their presence as the last change before the shift left it (None: no change before).
    presence_at_start: str | None
    teams: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.username


def _profiles(*, roster: Any, start: datetime) -> list[Agent]:
    at_start = (
        PresenceChange.objects.filter(user_id=OuterRef("user_id"), at__lt=start)
        .order_by("-at", "-id")
        .values("presence")[:1]
    )
    teams: dict[int, list[str]] = defaultdict(list)
    for user_id, slug in (
        AgentProfile.teams.through.objects.filter(agentprofile__in=roster.values("pk"))
        .order_by("team__slug")
        .values_list("agentprofile__user_id", "team__slug")
    ):
        teams[user_id].append(slug)
    rows = (
        roster.annotate(presence_at_start=Subquery(at_start))
        .order_by("user__first_name", "user__username", "pk")
        .values_list(
            "user_id",
            "user__username",
            "user__first_name",
            "user__last_name",
            "presence",
            "presence_since",
            "last_seen_at",
            "away_reason",
            "cooldown_until",
            "capacity",
            "presence_at_start",
        )
    )
    return [Agent(*row, teams=tuple(teams.get(row[0], ()))) for row in rows]


class Epoch(Func):
    """A datetime column as seconds since the epoch (a float): the board reads thousands, and
    numbers cost less to load than aware datetimes."""

    output_field = FloatField()

    @property
    def convert_value(self) -> Any:
        # Both databases return a float already: no per-row converter.
        return self._convert_value_noop

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"EXTRACT(EPOCH FROM {sql})::float8", list(params)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"((julianday({sql}) - 2440587.5) * 86400.0)", list(params)


class HolderValue(Func):
    """Case.difficulty_parts["human"][<assignee id>][key] as text: what the engine kept about
    the customer's turns for the agent holding the case (difficulty.human_turns_add)."""

    output_field = TextField()

    def __init__(self, key: str) -> None:
        super().__init__(F("difficulty_parts"), F("assignee_id"))
        self.key = key

    def _compiled(self, compiler: Any) -> tuple[str, str, list[Any]]:
        (parts, p1), (holder, p2) = (compiler.compile(e) for e in self.get_source_expressions())
        return parts, holder, [*p1, *p2]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        parts, holder, params = self._compiled(compiler)
        return f"(({parts}) -> 'human' -> (({holder})::text) ->> %s)", [*params, self.key]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        parts, holder, params = self._compiled(compiler)
        path = f"""'$.human."' || ({holder}) || '".' || %s"""
        return f"json_extract({parts}, {path})", [*params, self.key]


_HOURS_SQL = {
    "postgresql": (
        "SELECT c.assignee_id, h.key, SUM((h.value ->> 0)::int), SUM((h.value ->> 1)::int) "
        "FROM ({base}) c CROSS JOIN LATERAL "
        "jsonb_each(c.difficulty_parts -> 'human' -> (c.assignee_id::text) -> 'hours') h "
        "WHERE h.key > %s GROUP BY 1, 2 ORDER BY 1, 2"
    ),
    "sqlite": (
        "SELECT c.assignee_id, h.key, SUM(json_extract(h.value, '$[0]')), "
        "SUM(json_extract(h.value, '$[1]')) FROM ({base}) c, "
        """json_each(c.difficulty_parts, '$.human."' || c.assignee_id || '".hours') h """
        "WHERE h.key > %s GROUP BY 1, 2 ORDER BY 1, 2"
    ),
}


def _shift_cases(*, user_ids: Any, start: datetime) -> Any:
    return Case.objects.filter(
        Q(status=Case.Status.ASSIGNED) | Q(resolved_at__gte=start),
        assignee_id__in=user_ids,
        assigned_at__isnull=False,
    ).order_by()


def _held_cases(*, user_ids: Any, start: datetime) -> dict[int, list[HeldCase]]:
    """The cases each agent held this shift: open, or resolved since the start. A case's
    customer was upset from the handoff, or from their first negative turn to this agent."""
    rows = (
        _shift_cases(user_ids=user_ids, start=start)
        .values_list(
            "pk",
            "assignee_id",
            "difficulty",
            "sentiment",
            Epoch("assigned_at"),
            Epoch("resolved_at"),
            Epoch("first_response_at"),
            HolderValue("first_negative"),
        )
        .order_by("assignee_id", "assigned_at", "pk")
    )
    held: dict[int, list[HeldCase]] = defaultdict(list)
    for pk, user_id, difficulty, sentiment, assigned, resolved, first, negative in rows:
        upset_from = assigned if sentiment <= NEGATIVE_SENTIMENT else None
        if negative and upset_from is None:
            upset_from = max(assigned, datetime.fromisoformat(negative).timestamp())
        held[user_id].append(HeldCase(pk, difficulty, assigned, resolved, first, upset_from))
    return held


def _turn_buckets(*, user_ids: Any, start: datetime) -> dict[int, list[TurnBucket]]:
    """The customer's turns on each agent's cases while they held them, per clock hour of the
    shift, summed in the database from the counts kept on each case."""
    base, params = (
        _shift_cases(user_ids=user_ids, start=start)
        .values("assignee_id", "difficulty_parts")
        .query.sql_with_params()
    )
    first_hour = (start - timedelta(hours=1)).isoformat()
    buckets: dict[int, list[TurnBucket]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(_HOURS_SQL[connection.vendor].format(base=base), [*params, first_hour])
        for user_id, hour, turns, negative in cursor.fetchall():
            buckets[user_id].append(
                TurnBucket(
                    hour=datetime.fromisoformat(hour), turns=int(turns), negative=int(negative)
                )
            )
    return buckets


def _presence_changes(*, user_ids: Any, start: datetime, now: datetime) -> dict[int, list]:
    changes: dict[int, list] = defaultdict(list)
    for user_id, presence, at, reason in (
        PresenceChange.objects.filter(user_id__in=user_ids, at__gte=start, at__lte=now)
        .order_by("user_id", "at", "id")
        .values_list("user_id", "presence", "at", "reason")
    ):
        changes[user_id].append((at, presence, reason))
    return changes


def effective_presence(profile: Agent, *, now: datetime) -> tuple[str, datetime | None]:
    """Presence as routing sees it: a stale heartbeat is offline, from when it went stale."""
    presence, since = profile.presence, profile.presence_since
    if presence != AgentProfile.Presence.OFFLINE:
        seen = profile.last_seen_at
        if seen is None or seen < now - PRESENCE_TIMEOUT:
            return AgentProfile.Presence.OFFLINE, (seen + PRESENCE_TIMEOUT) if seen else since
    return presence, since


def presence_segments(
    profile: Agent, changes: Sequence[tuple], *, start: datetime, now: datetime
) -> list[tuple[datetime, datetime, str]]:
    """The shift cut into (from, to, presence) pieces. Before the first change the agent was
    as the last change before the shift said; with no change ever, as their presence now if it
    began before the shift (or is of unknown start), else offline."""
    presence_now, since_now = effective_presence(profile, now=now)
    if profile.presence_at_start:
        current = profile.presence_at_start
    elif not changes and (since_now is None or since_now <= start):
        current = presence_now
    else:
        current = AgentProfile.Presence.OFFLINE
    points: list[tuple[datetime, str]] = [(start, current)]
    points.extend((at, presence) for at, presence, _ in changes)
    if presence_now != points[-1][1]:
        # The heartbeat went stale without a sweep yet: offline from then.
        points.append((max(since_now or now, points[-1][0]), presence_now))
    segments = []
    for (at, presence), nxt in zip(points, [*points[1:], (now, "")], strict=True):
        if nxt[0] > at:
            segments.append((at, nxt[0], presence))
    return segments


def _baselines(*, user_ids: Any, now: datetime) -> dict[int, tuple[float | None, ...]]:
    """Each agent's 30-day median handle and first-reply minutes."""
    cases = Case.objects.filter(
        assignee_id__in=user_ids,
        assigned_at__gte=now - timedelta(days=BASELINE_DAYS),
        assigned_at__isnull=False,
    )
    if connection.vendor == "postgresql":
        rows = (
            cases.values("assignee_id")
            .annotate(
                handle=Median(
                    F("resolved_at") - F("assigned_at"), filter=Q(resolved_at__isnull=False)
                ),
                reply=Median(
                    F("first_response_at") - F("assigned_at"),
                    filter=Q(first_response_at__gte=F("assigned_at")),
                ),
            )
            .order_by()
        )
        return {
            r["assignee_id"]: (
                r["handle"].total_seconds() / 60 if r["handle"] is not None else None,
                r["reply"].total_seconds() / 60 if r["reply"] is not None else None,
            )
            for r in rows
        }
    handles: dict[int, list[float]] = defaultdict(list)
    replies: dict[int, list[float]] = defaultdict(list)
    for user_id, assigned, resolved, first in cases.values_list(
        "assignee_id", "assigned_at", "resolved_at", "first_response_at"
    ):
        if resolved is not None:
            handles[user_id].append((resolved - assigned).total_seconds() / 60)
        if first is not None and first >= assigned:
            replies[user_id].append((first - assigned).total_seconds() / 60)
    return {
        u: (
            median(handles[u]) if handles.get(u) else None,
            median(replies[u]) if replies.get(u) else None,
        )
        for u in set(handles) | set(replies)
    }


@dataclass
class Board:
    policy: WorkloadPolicy
    start: datetime
    now: datetime
    profiles: list[Agent]
    held: dict[int, list[HeldCase]]
    buckets: dict[int, list[TurnBucket]]
    changes: dict[int, list]
    baselines: dict[int, tuple[float | None, ...]]

    def shift(self, profile: Agent) -> Shift:
        user_id = profile.user_id
        segments = presence_segments(
            profile, self.changes.get(user_id, ()), start=self.start, now=self.now
        )
        online: list[Interval] = [
            (a, b) for a, b, p in segments if p == AgentProfile.Presence.ONLINE
        ]
        return Shift(
            start=self.start,
            cases=self.held.get(user_id, ()),
            buckets=self.buckets.get(user_id, ()),
            online=online,
        )


def board_load(
    *, now: datetime, team: str | None = None, user_ids: Iterable[int] | None = None
) -> Board:
    policy = workload_policy()
    start = _shift_start(policy, now)
    roster = _roster(team=team, user_ids=user_ids)
    profiles = _profiles(roster=roster, start=start)
    if not profiles:
        return Board(policy, start, now, [], {}, {}, {}, {})
    ids = roster.values("user_id")
    held = _held_cases(user_ids=ids, start=start)
    buckets = _turn_buckets(user_ids=ids, start=start)
    changes = _presence_changes(user_ids=ids, start=start, now=now)
    baselines = _baselines(user_ids=ids, now=now)
    return Board(policy, start, now, profiles, held, buckets, changes, baselines)
