"""The customer's honest wait: where their case stands among the cases the same agents can take,
whether a seat is free, and the typical-to-worst wait (50th to 90th percentile) from how fast
those agents have been finishing cases; hidden when there is too little history to say. The
model is docs/routing.md#the-customers-wait; the pace arithmetic is escalation/workload/pace.py,
shared with the console's expected wait. Every estimate a customer is shown is logged
(`wait_estimate_log`) and settled with the real wait when a person takes the case
(waiting.py), so its accuracy can be measured (bench/wait_estimate.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, Subquery
from django.utils import timezone

from escalation.cases.routing import PRESENCE_TIMEOUT
from escalation.models import AgentProfile, Case, WaitEstimateLog
from escalation.workload.pace import seats_wait_quantiles, wait_quantile_minutes
from escalation.workload.policy import workload_policy

# The pace is read over the last half hour when it holds enough completions (the recent pace),
# else over the last hour; fewer than MIN_COMPLETIONS in the hour is too little history.
WINDOWS_MINUTES = (30, 60)
MIN_COMPLETIONS = 5
LOW_QUANTILE, HIGH_QUANTILE = 0.5, 0.9


@dataclass(frozen=True)
class WaitEstimate:
    case_id: int
    at: datetime
    # 1-based, in due order, among the queued cases that the agents who can take this one can
    # take (this one included).
    position: int
    # Free places under their capacity of those agents at the desk now (cases ahead take
    # them first).
    free_seats: int
    # A seat is free for this case now: "next available", no range.
    next_available: bool
    agents_online: int
    # The wait range in seconds from `at` (50th and 90th percentile); both None when hidden:
    # too little history, or nobody who can take the case is at the desk.
    low_s: float | None
    high_s: float | None
    # Completions per minute of those agents, over `window_minutes`; None with no history read.
    basis: float | None
    window_minutes: int | None

    @property
    def has_range(self) -> bool:
        return self.low_s is not None and self.high_s is not None


@dataclass
class _Seat:
    capacity: int
    skills: set[str]
    teams: set[str]
    online: bool
    cooldown_until: datetime | None
    held: int = 0
    ages: list[float] = field(default_factory=list)


def _pool(case: Case, *, now: datetime) -> dict[int, _Seat]:
    """The active agents who could hold this case (its team, its skill), whatever their
    presence, with all their teams. One query."""
    on_team = Q(teams__slug=case.team)
    if case.team == "general":
        # An agent on no team counts as general (routing.py).
        on_team |= Q(teams__isnull=True)
    ids = AgentProfile.objects.filter(on_team, user__is_active=True).values("pk")
    fresh = now - PRESENCE_TIMEOUT
    seats: dict[int, _Seat] = {}
    for user_id, capacity, skills, presence, seen, cooldown, team in AgentProfile.objects.filter(
        pk__in=Subquery(ids)
    ).values_list(
        "user_id",
        "capacity",
        "skills",
        "presence",
        "last_seen_at",
        "cooldown_until",
        "teams__slug",
    ):
        seat = seats.get(user_id)
        if seat is None:
            seat = seats[user_id] = _Seat(
                capacity=capacity,
                skills=set(skills or []),
                teams=set(),
                online=presence == AgentProfile.Presence.ONLINE
                and seen is not None
                and seen >= fresh,
                cooldown_until=cooldown,
            )
        seat.teams.add(team or "general")
    if case.required_skill:
        seats = {u: s for u, s in seats.items() if case.required_skill in s.skills}
    return seats


@dataclass(frozen=True)
class _Pace:
    """What a window shows of the agents' pace: the cases they resolved in it, and the time
    each of those was held (from its assignment, even if that was before the window)."""

    minutes: int
    handles: list[float]

    @property
    def done(self) -> int:
        return len(self.handles)


def _held_and_paces(
    *, user_ids: list[int], now: datetime
) -> tuple[dict[int, list[float]], list[_Pace]]:
    """The cases each agent holds now (how many minutes each has been held), and the group's
    pace over each window. One query: the cases they hold or resolved in the longest window."""
    if not user_ids:
        return {}, [_Pace(minutes=m, handles=[]) for m in WINDOWS_MINUTES]
    longest = now - timedelta(minutes=max(WINDOWS_MINUTES))
    rows = list(
        Case.objects.filter(assignee_id__in=user_ids)
        .filter(Q(status=Case.Status.ASSIGNED) | Q(resolved_at__gte=longest, resolved_at__lte=now))
        .values_list("assignee_id", "status", "assigned_at", "resolved_at")
    )
    held: dict[int, list[float]] = {}
    for user_id, status, assigned_at, _ in rows:
        if status == Case.Status.ASSIGNED:
            age = (now - assigned_at).total_seconds() / 60 if assigned_at else 0.0
            held.setdefault(user_id, []).append(max(0.0, age))
    paces = []
    for minutes in WINDOWS_MINUTES:
        since = now - timedelta(minutes=minutes)
        handles = [
            (resolved_at - assigned_at).total_seconds() / 60
            for _, status, assigned_at, resolved_at in rows
            if status == Case.Status.RESOLVED and resolved_at >= since and assigned_at is not None
        ]
        paces.append(_Pace(minutes=minutes, handles=handles))
    return held, paces


def _position(case: Case, *, teams: set[str], skills: set[str]) -> int:
    """1 + the queued cases ahead of this one, in due order, that these agents can take. One
    query."""
    ahead = (
        Case.objects.filter(status=Case.Status.QUEUED, team__in=teams)
        .filter(Q(required_skill="") | Q(required_skill__in=skills))
        .filter(Q(due_key__lt=case.due_key) | Q(due_key=case.due_key, pk__lt=case.pk))
        .exclude(pk=case.pk)
        .count()
    )
    return ahead + 1


def _free_seats(case: Case, seats: dict[int, _Seat], *, now: datetime) -> int:
    """Room under capacity of the agents at the desk who auto-assignment would give it to: not
    one who missed its deadline, and for a hard case not one in a cool-down."""
    online = {u: s for u, s in seats.items() if s.online and u != case.missed_by_id}
    cooling = {u for u, s in online.items() if s.cooldown_until and s.cooldown_until > now}
    # The policy is read only when someone is cooling down: the usual estimate skips it.
    if cooling and case.difficulty >= workload_policy().hard_difficulty:
        online = {u: s for u, s in online.items() if u not in cooling}
    return sum(max(0, s.capacity - s.held) for s in online.values())


def _range(
    case: Case, seats: dict[int, _Seat], *, pace: _Pace, needed: int, free: int
) -> tuple[float | None, float | None]:
    """Seconds, p50 and p90, until `needed` more seats free up (the free ones go to the cases
    ahead). The seats are the ones at the desk: an agent who is away finishes their cases but
    takes no new one. Replayed from the held cases' ages and the window's handling times
    (pace.seats_wait_quantiles); for a long queue, the Poisson model at the seats' rate."""
    ages = [a for u, s in seats.items() if s.online for a in s.ages] + [0.0] * free
    if not ages:
        return None, None
    quantiles = (LOW_QUANTILE, HIGH_QUANTILE)
    replayed = seats_wait_quantiles(
        ages=ages, handles=pace.handles, ahead=needed, quantiles=quantiles, seed=case.pk
    )
    if replayed is None:
        # A busy seat frees up once per handling time: the rate is the seats over the mean
        # handling time of the window's completions.
        window = sum(pace.handles) / len(ages)
        replayed = tuple(
            wait_quantile_minutes(ahead=needed, done=pace.done, window_minutes=window, q=q)
            for q in quantiles
        )
    low, high = replayed
    return 60 * low, 60 * high


def wait_estimate(*, case_id: int, now: datetime | None = None) -> WaitEstimate | None:
    """Where a queued case stands and the wait to expect; None if the case is not waiting on
    the queue (gone, preparing, taken or resolved). The range is hidden (None) rather than
    invented when the agents who can take it finished fewer than MIN_COMPLETIONS cases in
    the last hour, or none of them is at the desk. Four queries (five when an agent at the
    desk is in a cool-down), whatever the size of the queue."""
    now = now or timezone.now()
    case = (
        Case.objects.filter(pk=case_id)
        .only("status", "team", "required_skill", "due_key", "missed_by", "difficulty")
        .first()
    )
    if case is None or case.status != Case.Status.QUEUED or case.due_key is None:
        return None
    seats = _pool(case, now=now)
    held, paces = _held_and_paces(user_ids=list(seats), now=now)
    for user_id, seat in seats.items():
        seat.ages = held.get(user_id, [])
        seat.held = len(seat.ages)
    teams = set().union(*(s.teams for s in seats.values())) if seats else {case.team}
    skills = set().union(*(s.skills for s in seats.values())) if seats else set()
    position = _position(case, teams=teams, skills=skills)
    free = _free_seats(case, seats, now=now)
    online = sum(1 for s in seats.values() if s.online)
    next_available = free >= position
    pace = next((p for p in paces if p.done >= MIN_COMPLETIONS), None)
    low = high = None
    if next_available:
        low = high = 0.0
    elif pace is not None and online:
        low, high = _range(case, seats, pace=pace, needed=position - free, free=free)
    return WaitEstimate(
        case_id=case.pk,
        at=now,
        position=position,
        free_seats=free,
        next_available=next_available,
        agents_online=online,
        low_s=low,
        high_s=high,
        basis=pace.done / pace.minutes if pace else None,
        window_minutes=pace.minutes if pace else None,
    )


def wait_estimate_log(*, estimate: WaitEstimate) -> WaitEstimateLog:
    """Record an estimate that was shown to the customer (call once per showing). It is settled
    with the actual wait when a person takes the case (waiting.wait_estimates_settle); one
    for a case that leaves the queue otherwise stays unsettled and out of the figures."""
    return WaitEstimateLog.objects.create(
        case_id=estimate.case_id,
        shown_at=estimate.at,
        position=estimate.position,
        free_seats=estimate.free_seats,
        next_available=estimate.next_available,
        low_s=estimate.low_s,
        high_s=estimate.high_s,
        basis=estimate.basis,
        window_minutes=estimate.window_minutes,
    )
