"""Queueing and routing: priority with aging, first-response SLAs, and assignment to the online
agent with room, balanced by how hard the cases they already hold are (not by how many)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from conversations.events import agent_group, queue_send_on_commit, send_on_commit
from escalation.analysis import SENSITIVE_TOPICS
from escalation.models import Case, CaseEvent

# First response due within (minutes), by priority band.
SLA_MINUTES = ((75, 5), (40, 15), (0, 60))
SLA_WARNING_SHARE = 0.8
# Minutes of waiting that one point of priority is worth.
AGING_MINUTES_PER_POINT = 1.0
PRESENCE_TIMEOUT = timedelta(seconds=75)
# A case is queued without its packet if building one takes longer than this.
PREPARING_TIMEOUT = timedelta(minutes=2)


def sla_minutes(priority: int) -> int:
    return next(minutes for floor, minutes in SLA_MINUTES if priority >= floor)


def case_weight(*, risk: float, topic: str) -> float:
    """Difficulty of holding a case: 1 for an easy one, up to about 2.5 for a risky sensitive one."""
    return round(1.0 + risk + (0.5 if topic in SENSITIVE_TOPICS else 0.0), 3)


def case_priority(*, base: int, risk: float, customer_value: float) -> int:
    """The rule's priority, raised by risk (up to 15) and by the customer's lifetime value (up
    to 10, at $2,000 and above). Waiting time is added by the queue order (due_key)."""
    value_bonus = min(10.0, customer_value / 200.0)
    return int(min(100, base + round(15 * risk) + round(value_bonus)))


def case_schedule(*, case: Case, now: Any = None) -> None:
    """Set the order key and SLA of a case being queued (the caller saves)."""
    now = now or timezone.now()
    case.due_key = now - timedelta(minutes=case.priority * AGING_MINUTES_PER_POINT)
    case.sla_due_at = now + timedelta(minutes=sla_minutes(case.priority))


@dataclass
class Candidate:
    user_id: int
    capacity: int
    skills: set[str]
    teams: set[str]
    load: float
    held: int
    name: str

    def can_take(self, case: Case) -> bool:
        return (
            self.held < self.capacity
            and case.team in self.teams
            and (not case.required_skill or case.required_skill in self.skills)
            and case.missed_by_id != self.user_id
        )


def _held(user_id: int) -> int:
    return Case.objects.filter(assignee_id=user_id, status=Case.Status.ASSIGNED).count()


def _is_present(profile: Any) -> bool:
    from desk.models import AgentProfile

    return (
        profile.presence == AgentProfile.Presence.ONLINE
        and profile.last_seen_at is not None
        and profile.last_seen_at >= timezone.now() - PRESENCE_TIMEOUT
    )


def holding_refusal(*, case: Case, profile: Any, by_supervisor: bool, you: bool) -> str:
    """Why this agent may not hold the case ("" if they may): a sensitive case needs its skill,
    and everyone needs room under their capacity unless a supervisor decides. The same rules
    as auto-assignment (Candidate.can_take), for a person's choice: a pick or a transfer."""
    name = "you" if you else (profile.user.get_full_name() or profile.user.username)
    if case.required_skill and case.required_skill not in (profile.skills or []):
        skill = case.required_skill.replace("_", " ")
        return (
            f"This case needs the {skill} skill, which {name} {'do' if you else 'does'} not have."
        )
    if not by_supervisor and _held(profile.user_id) >= profile.capacity:
        return f"{'You are' if you else f'{name} is'} at capacity ({profile.capacity} cases)."
    return ""


def transfer_refusal(*, case: Case, profile: Any, by_supervisor: bool) -> str:
    """Why the case cannot go to this agent now ("" if it can): they must be at the desk, and
    may hold it."""
    if not _is_present(profile):
        name = profile.user.get_full_name() or profile.user.username
        return f"{name} is not available right now; transfer to their team instead."
    return holding_refusal(case=case, profile=profile, by_supervisor=by_supervisor, you=False)


def _candidates(*, lock: bool) -> list[Candidate]:
    """Online agents with a fresh heartbeat, with their difficulty-weighted load."""
    from desk.models import AgentProfile

    fresh = timezone.now() - PRESENCE_TIMEOUT
    profiles = AgentProfile.objects.filter(
        presence=AgentProfile.Presence.ONLINE, last_seen_at__gte=fresh, user__is_active=True
    ).order_by("pk")
    if lock:
        # Assigners serialise on the agents they might assign to, so capacity holds.
        profiles = profiles.select_for_update(of=("self",))
    # Evaluated (locks taken) before the loads are read, so the loads include whatever the
    # assigner that held these locks before us committed.
    profiles = list(profiles.select_related("user").prefetch_related("teams"))
    open_statuses = [Case.Status.ASSIGNED]
    loads = {
        row["assignee"]: row
        for row in Case.objects.filter(status__in=open_statuses, assignee__isnull=False)
        .values("assignee")
        .annotate(load=Sum("weight"), held=Count("id"))
    }
    return [
        Candidate(
            user_id=p.user_id,
            capacity=p.capacity,
            skills=set(p.skills or []),
            teams={t.slug for t in p.teams.all()} or {"general"},
            load=float(loads.get(p.user_id, {}).get("load") or 0.0),
            held=int(loads.get(p.user_id, {}).get("held") or 0),
            name=p.user.get_full_name() or p.user.username,
        )
        for p in profiles
    ]


def _assign(*, case: Case, user_id: int, by: Any = None, auto: bool) -> None:
    """Assign a locked, queued case. The warm greeting goes out on the customer's channel."""
    from desk.services import warm_greeting_send

    greeted = CaseEvent.objects.filter(
        case=case, kind=CaseEvent.Kind.ASSIGNED, data__to=user_id
    ).exists()
    case.status = Case.Status.ASSIGNED
    case.assignee_id = user_id
    case.assigned_at = timezone.now()
    case.save(update_fields=["status", "assignee", "assigned_at"])
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.ASSIGNED, actor=by, data={"to": user_id, "auto": auto}
    )
    if not greeted:
        # An agent taking a case back does not introduce themselves twice.
        warm_greeting_send(case=case)
    # The agent hears of it, unless they took it themselves.
    send_on_commit(
        agent_group(user_id),
        {
            "type": "case.assigned",
            "case_id": case.pk,
            "notify": getattr(by, "pk", None) != user_id,
            "summary": f"Case {case.pk}: {case.summary_line or case.reason}"[:160],
        },
    )
    queue_send_on_commit(case.team, {"type": "case.updated", "case_id": case.pk})


@transaction.atomic
def cases_auto_assign(*, limit: int = 50) -> int:
    """Hand queued cases, most urgent first, to the eligible online agent with room and the
    lightest difficulty-weighted load. Cases another assigner holds are skipped, never
    assigned twice. Returns how many were assigned."""
    agents = [a for a in _candidates(lock=True) if a.held < a.capacity]
    if not agents:
        return 0
    # Only cases someone with room could take: cases of a team or skill nobody online covers
    # must not fill the batch and hold up the queue behind them.
    teams = set().union(*(a.teams for a in agents))
    skills = set().union(*(a.skills for a in agents))
    cases = list(
        Case.objects.select_for_update(skip_locked=True)
        .filter(status=Case.Status.QUEUED, assignee__isnull=True, team__in=teams)
        .filter(Q(required_skill="") | Q(required_skill__in=skills))
        .order_by("due_key", "id")[:limit]
    )
    assigned = 0
    for case in cases:
        eligible = [a for a in agents if a.can_take(case)]
        if not eligible:
            continue
        agent = min(eligible, key=lambda a: (a.load, a.held, a.user_id))
        _assign(case=case, user_id=agent.user_id, auto=True)
        agent.load += case.weight
        agent.held += 1
        assigned += 1
    return assigned


class CaseTaken(Exception):
    """Someone else holds the case now."""


class CannotTake(Exception):
    """The agent may not take this case (skill or capacity)."""


@transaction.atomic
def case_pick(*, case_id: int, user: Any) -> Case:
    """An agent takes a queued case by hand, if they may hold it (holding_refusal). Taking a
    case is being at the desk."""
    from desk.access import user_is_supervisor
    from desk.models import AgentProfile

    case = Case.objects.select_for_update(skip_locked=True).filter(pk=case_id).first()
    if case is None or case.status != Case.Status.QUEUED:
        raise CaseTaken("Another agent has this case, or it is no longer queued.")
    profile = AgentProfile.objects.select_for_update().filter(user_id=user.pk).first()
    if profile is not None:
        refusal = holding_refusal(
            case=case, profile=profile, by_supervisor=user_is_supervisor(user), you=True
        )
        if refusal:
            raise CannotTake(refusal)
    if profile is not None and profile.presence == AgentProfile.Presence.OFFLINE:
        AgentProfile.objects.filter(pk=profile.pk).update(
            presence=AgentProfile.Presence.ONLINE, last_seen_at=timezone.now()
        )
    _assign(case=case, user_id=user.pk, by=user, auto=False)
    return case


@transaction.atomic
def case_requeue(*, case: Case, reason: str, by: Any = None) -> None:
    """Put an assigned case back on the queue (its aging key is kept). Call holding its lock."""
    previous = case.assignee_id
    case.status = Case.Status.QUEUED
    case.assignee = None
    case.assigned_at = None
    case.save(update_fields=["status", "assignee", "assigned_at", "missed_by"])
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.REQUEUED, actor=by, data={"reason": reason, "from": previous}
    )
    queue_send_on_commit(case.team, {"type": "case.updated", "case_id": case.pk})


@transaction.atomic
def cases_sweep() -> dict[str, int]:
    """Periodic (Celery beat): mark silent agents offline, re-queue cases whose agent went
    offline or that missed their first-response SLA, warn before a breach, then assign."""
    from desk.models import AgentProfile

    now = timezone.now()
    stale = AgentProfile.objects.filter(
        ~Q(presence=AgentProfile.Presence.OFFLINE), last_seen_at__lt=now - PRESENCE_TIMEOUT
    ).update(presence=AgentProfile.Presence.OFFLINE)
    offline_users = set(
        AgentProfile.objects.filter(presence=AgentProfile.Presence.OFFLINE).values_list(
            "user_id", flat=True
        )
    )
    requeued = 0
    held = Case.objects.select_for_update(skip_locked=True).filter(status=Case.Status.ASSIGNED)
    # Only the agent who held the case when its deadline passed missed it: one who took it over
    # afterwards keeps it (else it would bounce, greeting the customer again, on every sweep).
    missed = Q(first_response_at__isnull=True, sla_due_at__lt=now, assigned_at__lt=F("sla_due_at"))
    for case in held.filter(Q(assignee_id__in=offline_users) | missed):
        if case.assignee_id in offline_users:
            reason = "agent offline"
        else:
            reason = "first response SLA missed"
            case.missed_by_id = case.assignee_id
        case_requeue(case=case, reason=reason)
        requeued += 1
    warned = 0
    warn_before = now + timedelta(minutes=1)
    for case in (
        Case.objects.select_for_update(skip_locked=True)
        .filter(
            status__in=[Case.Status.QUEUED, Case.Status.ASSIGNED],
            first_response_at__isnull=True,
            sla_due_at__lte=warn_before,
            sla_due_at__gte=now,
        )
        .exclude(timeline__kind=CaseEvent.Kind.SLA_WARNING)
    ):
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.SLA_WARNING)
        queue_send_on_commit(case.team, {"type": "case.updated", "case_id": case.pk})
        warned += 1
    stuck = 0
    from escalation.services import case_queue

    for case in Case.objects.select_for_update(skip_locked=True).filter(
        status=Case.Status.PREPARING, queued_at__lt=now - PREPARING_TIMEOUT
    ):
        # Its packet task died (a lost worker, a crash): queue it without a packet.
        case_queue(case=case)
        stuck += 1
    assigned = cases_auto_assign()
    return {
        "offline": stale,
        "requeued": requeued,
        "warned": warned,
        "unstuck": stuck,
        "assigned": assigned,
    }


def sla_state(case: Case, now: Any = None) -> str:
    """ok, warning or breached, for a case awaiting its first response."""
    if case.first_response_at or case.sla_due_at is None:
        return "ok"
    now = now or timezone.now()
    if now >= case.sla_due_at:
        return "breached"
    total = timedelta(minutes=sla_minutes(case.priority))
    if case.sla_due_at - now <= total * (1 - SLA_WARNING_SHARE):
        return "warning"
    return "ok"


def sla_phrase(case: Case, now: Any = None) -> str:
    """The first-reply deadline in words: due in, or overdue by; "" once answered or closed."""
    if case.first_response_at or case.sla_due_at is None or case.status == Case.Status.RESOLVED:
        return ""
    now = now or timezone.now()
    if now >= case.sla_due_at:
        return f"first reply overdue by {timesince(case.sla_due_at, now)}"
    return f"first reply due in {timeuntil(case.sla_due_at, now)}"


def warm_greeting_text(*, agent_name: str, customer_first_name: str = "") -> str:
    template = getattr(settings, "BATON_WARM_GREETING", "")
    return template.format(agent=agent_name, customer=customer_first_name or "there")
