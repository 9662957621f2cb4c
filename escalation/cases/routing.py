"""Queueing and routing: priority with aging, first-response SLAs, and assignment to the online
agent with room, balanced by how hard the cases they already hold are (not by how many); the
roster's presence."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Q, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from conversations.events import (
    CaseAssigned,
    CaseQueued,
    CaseUpdated,
    agent_group,
    enqueue_on_commit,
    queue_send_on_commit,
    send_on_commit,
)
from escalation import tasks
from escalation.cases.access import user_is_supervisor, user_name
from escalation.cases.waiting import queue_moved_on_commit, wait_estimates_settle
from escalation.cases.work import case_greet
from escalation.models import AgentProfile, Case, CaseEvent, PresenceChange, Team
from escalation.signals.topics import TOPIC_KINDS as SENSITIVE_TOPICS
from escalation.workload.difficulty import case_difficulty_apply
from escalation.workload.policy import workload_policy
from escalation.workload.push import workload_changed_on_commit

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
    """An agent as routing sees them: what they may hold and what they hold now."""

    user_id: int
    capacity: int
    skills: set[str]
    teams: set[str]
    load: float
    held: int
    name: str
    # A supervisor's cool-down: no hard case for them until then.
    cooldown_until: datetime | None = None
    # The difficulty of the cases most recently assigned to them this shift, newest first
    # (as many as recovery-aware routing looks at).
    recent: list[float] = field(default_factory=list)

    def refusal(self, case: Case, *, by_supervisor: bool = False, you: bool = False) -> str:
        """Why this agent may not hold the case ("" if they may): a sensitive case needs its
        skill, and everyone needs room under their capacity unless a supervisor decides. The
        one rule for auto-assignment, a pick and a transfer."""
        name = "you" if you else self.name
        if case.required_skill and case.required_skill not in self.skills:
            skill = case.required_skill.replace("_", " ")
            verb = "do" if you else "does"
            return f"This case needs the {skill} skill, which {name} {verb} not have."
        if not by_supervisor and self.held >= self.capacity:
            return f"{'You are' if you else f'{name} is'} at capacity ({self.capacity} cases)."
        return ""

    def can_take(self, case: Case) -> bool:
        """Auto-assignment: also their team's case, and not one whose deadline they missed."""
        return (
            not self.refusal(case) and case.team in self.teams and case.missed_by_id != self.user_id
        )

    def cooling_down(self, now: datetime) -> bool:
        return self.cooldown_until is not None and self.cooldown_until > now

    def due_recovery(self, *, after: int, hard: float) -> bool:
        """Their last `after` cases were all hard: the next one should be easier."""
        return after > 0 and len(self.recent) >= after and min(self.recent[:after]) >= hard


def _held(user_id: int) -> int:
    return Case.objects.filter(assignee_id=user_id, status=Case.Status.ASSIGNED).count()


def _is_present(profile: AgentProfile) -> bool:
    return (
        profile.presence == AgentProfile.Presence.ONLINE
        and profile.last_seen_at is not None
        and profile.last_seen_at >= timezone.now() - PRESENCE_TIMEOUT
    )


def _candidate(profile: AgentProfile) -> Candidate:
    return Candidate(
        user_id=profile.user_id,
        capacity=profile.capacity,
        skills=set(profile.skills or []),
        teams=set(),
        load=0.0,
        held=_held(profile.user_id),
        name=user_name(profile.user),
    )


def holding_refusal(*, case: Case, profile: AgentProfile, by_supervisor: bool, you: bool) -> str:
    """Why this agent may not hold the case, for a person's choice (a pick or a transfer)."""
    return _candidate(profile).refusal(case, by_supervisor=by_supervisor, you=you)


def cooldown_refusal(*, case: Case, profile: AgentProfile) -> str:
    """Why a hard case may not go to this agent: a supervisor gave them a cool-down."""
    until = profile.cooldown_until
    if until is None or until <= timezone.now():
        return ""
    if case.difficulty < workload_policy().hard_difficulty:
        return ""
    local = timezone.localtime(until)
    return f"{user_name(profile.user)} is in a cool-down until {local:%H:%M}: no hard cases."


def transfer_refusal(*, case: Case, profile: AgentProfile, by_supervisor: bool) -> str:
    """Why the case cannot go to this agent now ("" if it can): they must be at the desk, not
    in a cool-down if the case is hard, and may hold it."""
    if not _is_present(profile):
        return (
            f"{user_name(profile.user)} is not available right now; transfer to their team instead."
        )
    return cooldown_refusal(case=case, profile=profile) or holding_refusal(
        case=case, profile=profile, by_supervisor=by_supervisor, you=False
    )


def _recent_difficulty(*, user_ids: list[int], count: int, since: datetime) -> dict[int, list]:
    """The difficulty of each agent's last `count` cases assigned since `since`, newest first:
    one query, whatever the number of agents."""
    if count <= 0 or not user_ids:
        return {}
    rows = (
        Case.objects.filter(assignee_id__in=user_ids, assigned_at__gte=since)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("assignee_id")],
                order_by=[F("assigned_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=count)
        .order_by("assignee_id", "rank")
        .values_list("assignee_id", "difficulty")
    )
    recent: dict[int, list[float]] = {}
    for user_id, difficulty in rows:
        recent.setdefault(user_id, []).append(float(difficulty))
    return recent


def _candidates(*, lock: bool, recent: int = 0, since: datetime | None = None) -> list[Candidate]:
    """Online agents with a fresh heartbeat, with their difficulty-weighted load (and, with
    `recent`, the difficulty of their last cases assigned since `since`)."""

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
    history = _recent_difficulty(
        user_ids=[p.user_id for p in profiles], count=recent, since=since or timezone.now()
    )
    return [
        Candidate(
            user_id=p.user_id,
            capacity=p.capacity,
            skills=set(p.skills or []),
            teams={t.slug for t in p.teams.all()} or {"general"},
            load=float(loads.get(p.user_id, {}).get("load") or 0.0),
            held=int(loads.get(p.user_id, {}).get("held") or 0),
            name=p.user.get_full_name() or p.user.username,
            cooldown_until=p.cooldown_until,
            recent=history.get(p.user_id, []),
        )
        for p in profiles
    ]


def case_assign(
    *, case: Case, user_id: int, by: Any = None, auto: bool, name: str = "", via: str = ""
) -> None:
    """Assign a locked, queued case. The customer is greeted when the agent opens or takes it
    (work.case_greet), not now: an agent who is assigned a case may not have looked yet."""
    case.status = Case.Status.ASSIGNED
    case.assignee_id = user_id
    case.assigned_at = timezone.now()
    case.save(update_fields=["status", "assignee", "assigned_at"])
    wait_estimates_settle(case=case, at=case.assigned_at)
    if not name:
        user = get_user_model().objects.filter(pk=user_id).first()
        name = user_name(user) if user is not None else ""
    data: dict[str, Any] = {"to": user_id, "auto": auto, "to_name": name}
    if via:
        data["via"] = via
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.ASSIGNED, actor=by, data=data)
    # The agent hears of it, unless they took it themselves.
    send_on_commit(
        agent_group(user_id),
        CaseAssigned(
            case_id=case.pk,
            notify=getattr(by, "pk", None) != user_id,
            summary=f"Case {case.pk}: {case.summary_line or case.reason}"[:160],
        ),
    )
    queue_send_on_commit(case.team, CaseUpdated(case_id=case.pk))
    queue_moved_on_commit(case=case)


@transaction.atomic
def cases_auto_assign(*, limit: int = 50) -> int:
    """Hand queued cases, most urgent first, to the eligible online agent with room and the
    lightest difficulty-weighted load. Cases another assigner holds are skipped, never
    assigned twice. Returns how many were assigned.

    The workload policy bends it: a team whose auto-assignment is paused gets nothing; an
    agent in a cool-down gets no hard case; and with recovery-aware routing on, an agent whose
    last K cases were all hard gets an easier one next, when one they could take is waiting."""
    policy = workload_policy()
    now = timezone.now()
    after = policy.recovery_after_hard if policy.recovery_routing else 0
    since = now - timedelta(hours=policy.shift_hours)
    agents = [a for a in _candidates(lock=True, recent=after, since=since) if a.held < a.capacity]
    if not agents:
        return 0
    # Only cases someone with room could take: cases of a team or skill nobody online covers
    # must not fill the batch and hold up the queue behind them.
    paused = set(Team.objects.filter(auto_assign_paused=True).values_list("slug", flat=True))
    teams = set().union(*(a.teams for a in agents)) - paused
    skills = set().union(*(a.skills for a in agents))
    cases = list(
        Case.objects.select_for_update(skip_locked=True)
        .filter(status=Case.Status.QUEUED, assignee__isnull=True, team__in=teams)
        .filter(Q(required_skill="") | Q(required_skill__in=skills))
        .order_by("due_key", "id")[:limit]
    )
    # A case that continues a resolved one goes back to the agent who resolved it, if they can
    # take it now: the customer knows them, and they know the case.
    resolvers = dict(
        Case.objects.filter(
            pk__in=[c.follows_id for c in cases if c.follows_id], assignee__isnull=False
        ).values_list("pk", "assignee_id")
        if any(c.follows_id for c in cases)
        else []
    )
    hard = policy.hard_difficulty
    waiting = list(cases)

    def easier_waiting(agent: Candidate) -> bool:
        return any(c.difficulty < hard and agent.can_take(c) for c in waiting)

    assigned = 0
    progress = True
    # A hard case held back for a recovering agent may go to them once they have had an
    # easier one: passes repeat while they assign something.
    while waiting and progress:
        progress = False
        for case in list(waiting):
            is_hard = case.difficulty >= hard
            eligible = [
                a
                for a in agents
                if a.can_take(case)
                and not (
                    is_hard
                    and (
                        a.cooling_down(now)
                        or (a.due_recovery(after=after, hard=hard) and easier_waiting(a))
                    )
                )
            ]
            if not eligible:
                continue
            resolver = resolvers.get(case.follows_id)
            agent = next((a for a in eligible if a.user_id == resolver), None) or min(
                eligible,
                key=lambda a: (
                    # An easier case goes first to whoever is due one.
                    is_hard or not a.due_recovery(after=after, hard=hard),
                    a.load,
                    a.held,
                    a.user_id,
                ),
            )
            case_assign(case=case, user_id=agent.user_id, auto=True, name=agent.name)
            agent.load += case.weight
            agent.held += 1
            agent.recent.insert(0, case.difficulty)
            waiting.remove(case)
            assigned += 1
            progress = True
    return assigned


class CaseTaken(Exception):
    """Someone else holds the case now."""


class CannotTake(Exception):
    """The agent may not take this case (skill or capacity)."""


@transaction.atomic
def case_pick(*, case_id: int, user: Any) -> Case:
    """An agent takes a queued case by hand, if they may hold it (holding_refusal). Taking a
    case is being at the desk."""

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
        # Back at the desk, as the status they chose: taking a case while Away stays Away.
        back = profile.chosen_presence or AgentProfile.Presence.ONLINE
        now = timezone.now()
        AgentProfile.objects.filter(pk=profile.pk).update(
            presence=back, last_seen_at=now, presence_since=now
        )
        presence_changes_record(user_ids=[user.pk], presence=back, at=now)
    case_assign(case=case, user_id=user.pk, by=user, auto=False, name=user_name(user))
    # Taking a case is looking at it.
    case_greet(case=case, user=user)
    return case


@transaction.atomic
def case_requeue(*, case: Case, reason: str, by: Any = None) -> None:
    """Put an assigned case back on the queue (its aging key is kept). Call holding its lock."""
    previous = case.assignee_id
    previous_name = user_name(case.assignee) if previous else ""
    case.status = Case.Status.QUEUED
    case.assignee = None
    case.assigned_at = None
    case.save(update_fields=["status", "assignee", "assigned_at", "missed_by"])
    CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.REQUEUED,
        actor=by,
        data={"reason": reason, "from": previous, "from_name": previous_name},
    )
    queue_send_on_commit(case.team, CaseUpdated(case_id=case.pk))
    queue_moved_on_commit(case=case)


def case_queue(*, case: Case, data: dict[str, Any] | None = None) -> None:
    """Put a prepared case on the queue and tell the desk. Call holding the case row lock.

    `data` is the packet: its risk, topic, summary and the customer's value set the priority,
    the difficulty weight and what the queue card shows.
    """
    data = data or {}
    risk = float(data.get("risk") or 0.0)
    topic = str(data.get("topic") or "")[:40]
    customer = data.get("customer") or {}
    sentiment = data.get("sentiment") or {}
    now = timezone.now()
    case.status = Case.Status.QUEUED
    case.risk = risk
    case.topic = topic
    case.queued_at = now
    case.priority = case_priority(
        base=case.priority, risk=risk, customer_value=float(customer.get("lifetime_value") or 0)
    )
    case.weight = case_weight(risk=risk, topic=topic)
    case.required_skill = topic if topic in SENSITIVE_TOPICS else ""
    case.summary_line = str((data.get("summary") or {}).get("customer_wants") or case.note)[:200]
    case.sentiment = float(sentiment.get("now") or 0.0)
    case.sentiment_trend = float(sentiment.get("trend") or 0.0)
    case_schedule(case=case, now=now)
    case_difficulty_apply(case=case, now=now)
    case.save()
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.QUEUED, data={"priority": case.priority}
    )
    queue_send_on_commit(case.team, CaseQueued(case_id=case.pk))
    queue_moved_on_commit(case=case)
    enqueue_on_commit(tasks.auto_assign)


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


def presence_changes_record(
    *, user_ids: list[int], presence: str, at: Any = None, reason: str = "", by: Any = None
) -> None:
    """Log that these agents' presence became `presence` (the board's breaks and available
    time). Call only for a real change, after updating AgentProfile.presence."""
    at = at or timezone.now()
    PresenceChange.objects.bulk_create(
        PresenceChange(user_id=user_id, presence=presence, reason=reason, by=by, at=at)
        for user_id in user_ids
    )
    if user_ids:
        workload_changed_on_commit(user_ids=list(user_ids))


def presence_heartbeat(*, user: Any, presence: str | None = None, reason: str = "") -> None:
    """The desk socket's heartbeat: keeps the agent at the desk, as the status they chose.
    A stated presence (the status switch: online or away, an Away with the `reason` they
    gave) is their choice from now on; without one (a page connecting) they come back as
    what they chose last, so an Away that was set before the desk closed survives the
    disconnect."""
    row = (
        AgentProfile.objects.filter(user_id=user.pk)
        .values_list("presence", "chosen_presence")
        .first()
    )
    if row is None:
        return
    current, chosen = row
    now = timezone.now()
    fields: dict[str, Any] = {"last_seen_at": now}
    if presence in (AgentProfile.Presence.ONLINE, AgentProfile.Presence.AWAY):
        wanted = presence
        fields["chosen_presence"] = presence
        if presence == AgentProfile.Presence.AWAY:
            fields["away_reason"] = reason = reason[:120]
    else:
        wanted = chosen if chosen != AgentProfile.Presence.OFFLINE else AgentProfile.Presence.ONLINE
    fields["presence"] = wanted
    changed = current != wanted
    if changed:
        fields["presence_since"] = now
    if wanted != AgentProfile.Presence.AWAY:
        # A reason belongs to the Away it was given for (a supervisor's break).
        fields["away_reason"] = ""
    AgentProfile.objects.filter(user_id=user.pk).update(**fields)
    if changed:
        said = reason if presence == AgentProfile.Presence.AWAY else ""
        presence_changes_record(user_ids=[user.pk], presence=wanted, at=now, reason=said)
    if changed and wanted == AgentProfile.Presence.ONLINE:
        # Someone with room just arrived: queued cases may go to them now.
        enqueue_on_commit(tasks.auto_assign)


def presence_away(*, user: Any) -> None:
    """The desk closed: the agent is offline (their chosen status is kept for their return)."""
    now = timezone.now()
    changed = (
        AgentProfile.objects.filter(user_id=user.pk)
        .exclude(presence=AgentProfile.Presence.OFFLINE)
        .update(presence=AgentProfile.Presence.OFFLINE, presence_since=now)
    )
    if changed:
        presence_changes_record(user_ids=[user.pk], presence=AgentProfile.Presence.OFFLINE, at=now)
