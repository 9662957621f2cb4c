"""What the board reads, in bulk: a fixed number of queries for any number of agents. Each
loader returns plain data keyed by the agent's user id; index.py computes from it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, F, Min, OuterRef, Q, Subquery
from django.db.models.functions import Trunc

from conversations.models import Event
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


def _profiles(*, team: str | None, user_ids: Iterable[int] | None, start: datetime) -> list[Any]:
    at_start = (
        PresenceChange.objects.filter(user_id=OuterRef("user_id"), at__lt=start)
        .order_by("-at", "-id")
        .values("presence")[:1]
    )
    profiles = (
        AgentProfile.objects.filter(role=AgentProfile.Role.AGENT, user__is_active=True)
        .select_related("user")
        .prefetch_related("teams")
        .annotate(presence_at_start=Subquery(at_start))
        .order_by("user__first_name", "user__username", "pk")
    )
    if team:
        profiles = profiles.filter(teams__slug=team)
    if user_ids is not None:
        profiles = profiles.filter(user_id__in=list(user_ids))
    return list(profiles)


def _held_cases(*, user_ids: list[int], start: datetime) -> dict[int, list[HeldCase]]:
    rows = Case.objects.filter(
        Q(status=Case.Status.ASSIGNED) | Q(resolved_at__gte=start),
        assignee_id__in=user_ids,
        assigned_at__isnull=False,
    ).values_list(
        "pk",
        "assignee_id",
        "difficulty",
        "sentiment",
        "assigned_at",
        "resolved_at",
        "first_response_at",
    )
    return _held_from_rows(rows)


def _held_from_rows(rows: Iterable[tuple]) -> dict[int, list[HeldCase]]:
    held: dict[int, list[HeldCase]] = defaultdict(list)
    for pk, user_id, difficulty, sentiment, assigned, resolved, first in rows:
        held[user_id].append(
            HeldCase(
                case_id=pk,
                difficulty=difficulty,
                assigned_at=assigned,
                resolved_at=resolved,
                first_response_at=first,
                upset_from=assigned if sentiment <= NEGATIVE_SENTIMENT else None,
            )
        )
    return held


def _turn_buckets(
    *, user_ids: list[int], start: datetime
) -> tuple[dict[int, list[TurnBucket]], dict[int, datetime]]:
    """Customer messages on cases while the agent held them, this shift, per agent and clock
    hour; and when each case's customer was first negative while held."""
    rows = (
        Event.objects.filter(
            Q(conversation__cases__resolved_at__isnull=True)
            | Q(received_at__lte=F("conversation__cases__resolved_at")),
            type=Event.Type.MESSAGE,
            role="customer",
            received_at__gte=start,
            conversation__cases__assignee_id__in=user_ids,
            conversation__cases__assigned_at__lte=F("received_at"),
        )
        .values(
            case_id=F("conversation__cases__id"),
            user_id=F("conversation__cases__assignee_id"),
            hour=Trunc("received_at", "hour", tzinfo=dt.UTC),
        )
        .annotate(
            turns=Count("id"),
            negative=Count("id", filter=Q(analysis__sentiment__lte=NEGATIVE_SENTIMENT)),
            first_negative=Min(
                "received_at", filter=Q(analysis__sentiment__lte=NEGATIVE_SENTIMENT)
            ),
        )
        .order_by()
    )
    per_hour: dict[tuple[int, datetime], list[int]] = defaultdict(lambda: [0, 0])
    first_negative: dict[int, datetime] = {}
    for row in rows:
        slot = per_hour[(row["user_id"], row["hour"])]
        slot[0] += row["turns"]
        slot[1] += row["negative"]
        if row["first_negative"] is not None:
            known = first_negative.get(row["case_id"])
            if known is None or row["first_negative"] < known:
                first_negative[row["case_id"]] = row["first_negative"]
    buckets: dict[int, list[TurnBucket]] = defaultdict(list)
    for (user_id, hour), (turns, negative) in sorted(per_hour.items()):
        buckets[user_id].append(TurnBucket(hour=hour, turns=turns, negative=negative))
    return buckets, first_negative


def _presence_changes(*, user_ids: list[int], start: datetime, now: datetime) -> dict[int, list]:
    changes: dict[int, list] = defaultdict(list)
    for user_id, presence, at, reason in (
        PresenceChange.objects.filter(user_id__in=user_ids, at__gte=start, at__lte=now)
        .order_by("user_id", "at", "id")
        .values_list("user_id", "presence", "at", "reason")
    ):
        changes[user_id].append((at, presence, reason))
    return changes


def effective_presence(profile: Any, *, now: datetime) -> tuple[str, datetime | None]:
    """Presence as routing sees it: a stale heartbeat is offline, from when it went stale."""
    presence, since = profile.presence, profile.presence_since
    if presence != AgentProfile.Presence.OFFLINE:
        seen = profile.last_seen_at
        if seen is None or seen < now - PRESENCE_TIMEOUT:
            return AgentProfile.Presence.OFFLINE, (seen + PRESENCE_TIMEOUT) if seen else since
    return presence, since


def presence_segments(
    profile: Any, changes: Sequence[tuple], *, start: datetime, now: datetime
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


def _baselines(*, user_ids: list[int], now: datetime) -> dict[int, tuple[float | None, ...]]:
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
    profiles: list[Any]
    held: dict[int, list[HeldCase]]
    buckets: dict[int, list[TurnBucket]]
    changes: dict[int, list]
    baselines: dict[int, tuple[float | None, ...]]

    def shift(self, profile: Any) -> Shift:
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
    profiles = _profiles(team=team, user_ids=user_ids, start=start)
    ids = [p.user_id for p in profiles]
    if not ids:
        return Board(policy, start, now, [], {}, {}, {}, {})
    held = _held_cases(user_ids=ids, start=start)
    buckets, first_negative = _turn_buckets(user_ids=ids, start=start)
    if first_negative:
        for user_id, cases in held.items():
            held[user_id] = [_with_upset(c, first_negative.get(c.case_id)) for c in cases]
    changes = _presence_changes(user_ids=ids, start=start, now=now)
    baselines = _baselines(user_ids=ids, now=now)
    return Board(policy, start, now, profiles, held, buckets, changes, baselines)


def _with_upset(case: HeldCase, first_negative: datetime | None) -> HeldCase:
    if first_negative is None or (
        case.upset_from is not None and case.upset_from <= first_negative
    ):
        return case
    return HeldCase(
        case_id=case.case_id,
        difficulty=case.difficulty,
        assigned_at=case.assigned_at,
        resolved_at=case.resolved_at,
        first_response_at=case.first_response_at,
        upset_from=first_negative,
    )
