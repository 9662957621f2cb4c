"""The case lifecycle: open a case when the engine or the AI hands a conversation to humans,
prepare its packet, queue it, sweep what is stuck, transfer and resolve. Routing (assignment,
picks, requeues) is routing.py; what a person does on a case is work.py."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from actions.models import DraftedAction
from conversations.events import (
    SUPERVISORS_GROUP,
    ApprovalsChanged,
    CaseUpdated,
    agent_group,
    case_group,
    enqueue_on_commit,
    queue_send_on_commit,
    send_on_commit,
)
from conversations.models import Conversation, Event
from conversations.selectors import conversations_analysis_overdue
from conversations.services import (
    conversation_ai_read_only_set,
    conversation_analysis_done,
    conversation_owner_set,
)
from escalation import llm_packets, tasks
from escalation.cases.access import case_access, user_is_supervisor, user_name
from escalation.cases.packet import case_packet_prepare
from escalation.cases.routing import (
    PRESENCE_TIMEOUT,
    case_assign,
    case_queue,
    case_requeue,
    cases_auto_assign,
    presence_changes_record,
    transfer_refusal,
)
from escalation.cases.waiting import queue_moved_on_commit
from escalation.models import AgentProfile, Case, CaseEvent, HandoffPacket, Rule, Team
from escalation.services import (
    Baseline,
    conversation_engine_run,
    conversation_state_save,
    rule_evidence,
)
from escalation.signals.pleasantry import is_pleasantry
from escalation.workload.difficulty import case_difficulty_refresh
from escalation.workload.push import workload_changed_on_commit

logger = logging.getLogger(__name__)

# A case is queued without its packet if building one takes longer than this.
PREPARING_TIMEOUT = timedelta(minutes=2)
# Conversations whose analysis is this late lost their task: the sweep starts another.
ANALYSIS_TIMEOUT = timedelta(seconds=30)


@transaction.atomic
def case_open(
    *,
    conversation: Conversation,
    trigger: str,
    reason: str,
    note: str = "",
    rule: Rule | None = None,
    priority: int | None = None,
    team: str | None = None,
    evidence: dict[str, Any] | None = None,
    after_seq: int = 0,
    follows: Case | None = None,
) -> tuple[Case, bool]:
    """Open a case for the conversation, unless it already has an open one. It is queued once
    its handoff packet is built (a task, after commit).

    Call while holding the conversation's row lock, so two handoffs cannot both open a case.
    Returns the open case and whether it was created now.
    """
    existing = (
        Case.objects.filter(conversation=conversation).exclude(status=Case.Status.RESOLVED).first()
    )
    if existing is not None:
        return existing, False
    case = Case.objects.create(
        conversation=conversation,
        trigger=trigger,
        reason=reason[:100],
        note=note,
        rule=rule,
        priority=priority if priority is not None else 50,
        team=team or "general",
        evidence=evidence or {},
        after_seq=after_seq,
        follows=follows,
    )
    enqueue_on_commit(tasks.prepare_case, case.pk)
    return case, True


def conversation_baseline(*, last: Case | None) -> Baseline | None:
    """Where the engine starts reading a conversation whose newest case is `last`: after a
    resolved case, what came before its resolve was dealt with and is no reason for a new one
    (a hand-back sticks until the customer gives a new reason); an open case reads from where
    it started."""
    if last is None:
        return None
    if last.status == Case.Status.RESOLVED:
        return Baseline(seq=last.resolved_seq or 0, at=last.resolved_at)
    return Baseline(seq=last.after_seq) if last.after_seq else None


def case_returned_open(
    *, conversation: Conversation, last: Case | None, messages: list[Event], outcome: Any
) -> Case | None:
    """The customer wrote to a conversation a person owns, and no case is open (a person
    resolved it): `messages` are what they wrote, `outcome` the rules on what came after the
    resolve. Thanks and goodbyes join the resolved case's timeline (the transcript has them);
    anything else opens a case that continues it, prioritised by the rules like any case, and
    offered first to the agent who resolved the last one. Call holding the conversation lock."""
    if last is not None and last.status != Case.Status.RESOLVED:
        return None
    if last is not None and all(is_pleasantry(e.text) for e in messages):
        for message in messages:
            CaseEvent.objects.create(
                case=last,
                kind=CaseEvent.Kind.CLOSING_MESSAGE,
                data={"event": message.pk, "text": message.text[:200]},
            )
        send_on_commit(case_group(last.pk), CaseUpdated(case_id=last.pk))
        return None
    lead = outcome.rule if outcome.escalate else None
    case, _ = case_open(
        conversation=conversation,
        trigger=Case.Trigger.RETURNED,
        reason=lead.code if lead else "after a person closed the last case",
        rule=Rule.objects.filter(code=lead.code).first() if lead else None,
        team=lead.team if lead else (last.team if last else None),
        # Like any case: the rules' priority (a handoff's 50 when none fires); queueing adds
        # the risk and the customer's value. Never the last case's, which had its own reasons.
        priority=lead.priority if lead else None,
        evidence={"rules": outcome.codes, "follows": last.pk} if last else {},
        after_seq=last.resolved_seq or 0 if last else 0,
        follows=last,
    )
    return case


def _customer_turns(events: list[Event], messages: list[Any]) -> list[tuple[Any, float | None]]:
    """The customer's new messages: when each was received, and its sentiment."""
    sentiment = {m.seq: m.sentiment for m in messages if m.role == "customer"}
    return [
        (e.received_at, sentiment.get(e.seq))
        for e in events
        if e.type == Event.Type.MESSAGE and e.role == "customer"
    ]


@transaction.atomic
def conversation_analyze(*, conversation_id: int) -> None:
    """Bring the engine's view of a conversation up to date and act on it: flag it, hand it to
    humans when a rule says so, and open the case a handoff or a returning customer needs.
    Safe to run any number of times: each event is acted on in the run that first analyses it.
    """
    started_at = timezone.now()
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        return
    # At most one case is open, and it is the newest.
    last = Case.objects.filter(conversation=conversation).order_by("-id").first()
    since = conversation_baseline(last=last)
    after_seq = since.seq if since else 0
    run = conversation_engine_run(
        conversation=conversation, link=False, policy_denials=True, since=since
    )
    analysis = run.analysis
    state_row = conversation_state_save(conversation=conversation, analysis=analysis)
    open_statuses = (Case.Status.QUEUED, Case.Status.ASSIGNED)
    written = _customer_turns(run.new_events, analysis.messages)
    if last is not None and last.status in open_statuses and written:
        # The customer wrote during the human part: how hard the case is may have changed,
        # and the agent holding it took these turns.
        case_difficulty_refresh(case_id=last.pk, state=state_row, turns=written)
    outcome = analysis.rules
    if outcome.ai_read_only:
        conversation_ai_read_only_set(conversation=conversation)
    is_open = conversation.status == Conversation.Status.OPEN
    handoffs = [e for e in run.new_events if e.type == Event.Type.HANDOFF]
    if is_open and handoffs and conversation.owner == Conversation.Owner.HUMAN:
        # The AI handed the conversation over (ingest gave it to humans): a case it is.
        handoff = handoffs[0].payload
        case_open(
            conversation=conversation,
            trigger=Case.Trigger.HANDOFF,
            reason=handoff.get("reason", ""),
            note=handoff.get("note") or "",
            after_seq=after_seq,
        )
    elif outcome.escalate and is_open and conversation.owner == Conversation.Owner.AI:
        lead = outcome.rule
        conversation_owner_set(
            conversation=conversation, owner=Conversation.Owner.HUMAN, by="escalation"
        )
        case_open(
            conversation=conversation,
            trigger=Case.Trigger.RULE,
            reason=lead.code,
            rule=Rule.objects.filter(code=lead.code).first(),
            priority=lead.priority,
            team=lead.team,
            evidence={
                "rules": outcome.codes,
                "reasons": analysis.reasons,
                "risk": analysis.state.risk,
                "topic": analysis.state.topic,
                "signals": rule_evidence(conversation=conversation, rule=lead, since=since),
            },
            after_seq=after_seq,
        )
    elif (
        is_open
        and conversation.owner == Conversation.Owner.HUMAN
        and (
            written := [
                e for e in run.new_events if e.type == Event.Type.MESSAGE and e.role == "customer"
            ]
        )
    ):
        # A person closed the last case, and the AI may not answer: someone must.
        case_returned_open(conversation=conversation, last=last, messages=written, outcome=outcome)
    if (
        last is not None
        and last.status == Case.Status.ASSIGNED
        and any(e.type == Event.Type.MESSAGE and e.role == "customer" for e in run.new_events)
    ):
        # The customer of a held case wrote (and their mood was read): the holder's exposure.
        workload_changed_on_commit(user_ids=[last.assignee_id] if last.assignee_id else [])
    conversation_analysis_done(conversation_id=conversation.pk, started_at=started_at)


def _packet_store(*, case: Case, backend: str, data: dict[str, Any]) -> HandoffPacket | None:
    version = (case.packets.order_by("-version").values_list("version", flat=True).first() or 0) + 1
    try:
        with transaction.atomic():
            return HandoffPacket.objects.create(
                case=case, version=version, backend=backend, data=data
            )
    except IntegrityError:
        return None


def case_prepare(*, case_id: int) -> Case | None:
    """Build the case's packet, then queue it. Safe to run twice: a queued case is left alone.

    The LLM is waited for outside any transaction, so no row stays locked while it thinks.
    """
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("conversation", "conversation__customer")
            .filter(pk=case_id)
            .first()
        )
        if case is None or case.status != Case.Status.PREPARING:
            return case
        try:
            with transaction.atomic():
                data = case_packet_prepare(case=case)
        except Exception:
            # A customer is waiting: a packet that cannot be built must not hold the case back.
            logger.exception("could not build the packet of case %s; queueing it without", case_id)
            case_queue(case=case)
            return case
        if not case.packets.exists():
            _packet_store(case=case, backend=HandoffPacket.Backend.EMBEDDED, data=data)
    llm = _llm_within_budget(case=case, data=data)
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        if case.status != Case.Status.PREPARING:
            return case
        if llm is not None:
            _packet_store(case=case, backend=HandoffPacket.Backend.LLM, data=llm)
        case_queue(case=case, data=llm or data)
        if llm is None and getattr(settings, "BATON_LLM_ENABLED", False):
            # It missed the budget (or failed): a task builds it, after the case is queued.
            llm_packets.llm_packet_later(case_id=case.pk)
    return case


@transaction.atomic
def case_prepare_failed(*, case_id: int) -> None:
    """The packet could not be built: queue the case anyway, so no customer is left waiting."""
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None or case.status != Case.Status.PREPARING:
        return
    logger.error("queueing case %s without a handoff packet", case_id)
    case_queue(case=case)


def _llm_within_budget(*, case: Case, data: dict[str, Any]) -> dict[str, Any] | None:
    """The LLM's packet if it answers within BATON_LLM_HANDOFF_BUDGET; otherwise the case is
    queued with the embedded one and a task stores the LLM packet as the next version."""
    if not getattr(settings, "BATON_LLM_ENABLED", False):
        return None
    return llm_packets.llm_packet_within_budget(case_id=case.pk, embedded=data)


@transaction.atomic
def case_transfer(
    *, case_id: int, user: Any, note: str, team: str = "", agent_id: int | None = None
) -> Case:
    """Send the case to another team's queue, or straight to another agent, with a note."""
    case = case_access(user=user, case_id=case_id, lock=True, to_work=True)
    if agent_id:
        target = (
            AgentProfile.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(user_id=agent_id, user__is_active=True)
            .first()
        )
        if target is None:
            raise ValueError("No agent to transfer to: they may have left the desk.")
        if agent_id == case.assignee_id:
            raise ValueError("The case is already theirs.")
        refusal = transfer_refusal(
            case=case, profile=target, by_supervisor=user_is_supervisor(user)
        )
        if refusal:
            raise ValueError(refusal)
        target_name = user_name(target.user)
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.TRANSFER,
            actor=user,
            data={
                "to_agent": agent_id,
                "note": note,
                "to_name": target_name,
                "from_name": user_name(case.assignee) if case.assignee_id else "",
            },
        )
        if case.assignee_id:
            send_on_commit(agent_group(case.assignee_id), CaseUpdated(case_id=case.pk))
        case.status = Case.Status.QUEUED
        case_assign(
            case=case,
            user_id=target.user_id,
            by=user,
            auto=False,
            name=target_name,
            via="transfer",
        )
        return case
    if not Team.objects.filter(slug=team).exists():
        raise ValueError(f"No team {team!r}.")
    CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.TRANSFER,
        actor=user,
        data={
            "to_team": team,
            "note": note,
            "from_name": user_name(case.assignee) if case.assignee_id else "",
        },
    )
    old_team = case.team
    # Its old queue moves too (and the seats it held, if it was held).
    queue_moved_on_commit(case=case)
    case.team = team
    case.save(update_fields=["team"])
    case_requeue(case=case, reason=f"transferred to {team}", by=user)
    queue_send_on_commit(old_team, CaseUpdated(case_id=case.pk))
    return case


@transaction.atomic
def case_resolve(*, case_id: int, user: Any, outcome: str, note: str = "") -> Case:
    """Close the case. Handing back to the AI tells the platform, with a short context note."""
    case = case_access(user=user, case_id=case_id, lock=True, to_work=True)
    if outcome not in Case.Outcome.values:
        raise ValueError(f"Unknown outcome {outcome!r}.")
    conversation = Conversation.objects.select_for_update().get(pk=case.conversation_id)
    now = timezone.now()
    case.status = Case.Status.RESOLVED
    case.outcome = outcome
    case.resolved_at = now
    # What the conversation holds now was this case's: a later case reads what comes after.
    case.resolved_seq = conversation.last_seq
    case.save(update_fields=["status", "outcome", "resolved_at", "resolved_seq"])
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.RESOLVED, actor=user, data={"outcome": outcome, "note": note}
    )
    if outcome == Case.Outcome.HANDED_BACK:
        conversation_owner_set(
            conversation=conversation, owner=Conversation.Owner.AI, by="agent", note=note
        )
    queue_send_on_commit(case.team, CaseUpdated(case_id=case.pk))
    queue_moved_on_commit(case=case)
    approvals_changed_on_commit(case=case)
    return case


def approvals_changed_on_commit(*, case: Case) -> None:
    """The case closed: if it held an approval for a supervisor, their list and badge (which
    count open cases only) changed."""
    held = DraftedAction.objects.filter(
        case=case, status=DraftedAction.Status.DRAFTED, held_at__isnull=False
    )
    if held.exists():
        send_on_commit(SUPERVISORS_GROUP, ApprovalsChanged())


@transaction.atomic
def work_resume() -> dict[str, int]:
    """A worker has (re)started: the tasks a dead one held are gone with it, or wait for the
    broker's visibility timeout to come back. Analyse every conversation with events still
    pending analysis, and prepare every case still preparing, now, rather than at the next
    sweep or after its timeout. Both are idempotent: a task that does survive runs once more
    and changes nothing."""
    pending = conversations_analysis_overdue(before=timezone.now())
    for conversation_id in pending:
        enqueue_on_commit(tasks.analyze_conversation, conversation_id)
    preparing = list(
        Case.objects.filter(status=Case.Status.PREPARING).values_list("pk", flat=True)[:500]
    )
    for case_id in preparing:
        enqueue_on_commit(tasks.prepare_case, case_id)
    return {"reanalysed": len(pending), "prepared": len(preparing)}


@transaction.atomic
def cases_sweep() -> dict[str, int]:
    """Periodic (Celery beat): mark silent agents offline, re-queue cases whose agent went
    offline or that missed their first-response SLA, warn before a breach, queue what is
    stuck in preparing, catch up analyses whose task was lost, then assign."""

    now = timezone.now()
    gone = list(
        AgentProfile.objects.select_for_update(skip_locked=True)
        .filter(~Q(presence=AgentProfile.Presence.OFFLINE), last_seen_at__lt=now - PRESENCE_TIMEOUT)
        .values_list("pk", "user_id", "last_seen_at")
    )
    for pk, user_id, seen in gone:
        # Offline from when the heartbeat stopped, not from when the sweep noticed.
        went = seen + PRESENCE_TIMEOUT
        AgentProfile.objects.filter(pk=pk).update(
            presence=AgentProfile.Presence.OFFLINE, presence_since=went
        )
        presence_changes_record(user_ids=[user_id], presence=AgentProfile.Presence.OFFLINE, at=went)
    stale = len(gone)
    offline_users = set(
        AgentProfile.objects.filter(presence=AgentProfile.Presence.OFFLINE).values_list(
            "user_id", flat=True
        )
    )
    breached = 0
    for case in (
        Case.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("assignee")
        .filter(
            status__in=[Case.Status.QUEUED, Case.Status.ASSIGNED],
            first_response_at__isnull=True,
            sla_due_at__lt=now,
        )
        .exclude(timeline__kind=CaseEvent.Kind.SLA_BREACHED)
    ):
        # Once, and before the re-queue below: it names who held the case when it passed.
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.SLA_BREACHED,
            data={
                "due": case.sla_due_at.isoformat(),
                "holder": case.assignee_id,
                "holder_name": user_name(case.assignee) if case.assignee_id else "",
            },
        )
        breached += 1
    requeued = 0
    held = (
        Case.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("assignee")
        .filter(status=Case.Status.ASSIGNED)
    )
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
        queue_send_on_commit(case.team, CaseUpdated(case_id=case.pk))
        warned += 1
    stuck = 0
    for case in Case.objects.select_for_update(skip_locked=True).filter(
        status=Case.Status.PREPARING, queued_at__lt=now - PREPARING_TIMEOUT
    ):
        # Its packet task died (a lost worker, a crash): queue it without a packet.
        case_queue(case=case)
        stuck += 1
    overdue = conversations_analysis_overdue(before=now - ANALYSIS_TIMEOUT)
    for conversation_id in overdue:
        # Its analysis task was lost (a worker died, the broker was down): run it again.
        enqueue_on_commit(tasks.analyze_conversation, conversation_id)
    assigned = cases_auto_assign()
    return {
        "reanalysed": len(overdue),
        "offline": stale,
        "requeued": requeued,
        "warned": warned,
        "breached": breached,
        "unstuck": stuck,
        "assigned": assigned,
    }
