"""Writes of the escalation engine: analysis of live conversations, cases and their packets."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from conversations.events import queue_send_on_commit
from conversations.models import Conversation, Event
from escalation.analysis import SENSITIVE_TOPICS, MessageFacts, Turn
from escalation.engine import engine_run
from escalation.models import Case, ConversationState, HandoffPacket, MessageAnalysis, Rule, Signal
from escalation.packets import packet_build
from escalation.rules import SIGNAL_FIELDS, RuleSpec, condition_fields

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Any, *args: Any) -> None:
    """Run a Celery task after commit. In-process (embedded) a failing task is logged, never
    raised into the request that committed."""
    transaction.on_commit(lambda: task.delay(*args), robust=True)


# A burst of events on one conversation asks for one analysis, not one per frame: the task
# analyses everything not analysed yet, so a request made while one is pending adds nothing.
ANALYSIS_COALESCE_SECONDS = 0.25


@functools.cache
def _redis() -> Any:
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def analysis_key(conversation_id: int) -> str:
    return f"baton:analysis-pending:{conversation_id}"


def analysis_request(*, conversation_id: int) -> None:
    """Ask for the conversation to be analysed, after commit. With a broker, requests within
    ANALYSIS_COALESCE_SECONDS of a pending one are folded into it."""
    from escalation.tasks import analyze_conversation

    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.REDIS_URL:
        enqueue_on_commit(analyze_conversation, conversation_id)
        return

    def request() -> None:
        try:
            fresh = _redis().set(
                analysis_key(conversation_id), 1, nx=True, px=int(ANALYSIS_COALESCE_SECONDS * 4000)
            )
        except Exception:
            logger.exception("analysis coalescing unavailable; enqueueing directly")
            fresh = True
        if fresh:
            analyze_conversation.apply_async(
                (conversation_id,), countdown=ANALYSIS_COALESCE_SECONDS
            )

    transaction.on_commit(request, robust=True)


def analysis_started(*, conversation_id: int) -> None:
    """Called by the task before it reads: requests from now on need another run."""
    if settings.REDIS_URL and not settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            _redis().delete(analysis_key(conversation_id))
        except Exception:
            logger.exception("could not clear the analysis request of %s", conversation_id)


def rules_active() -> list[RuleSpec]:
    """The enabled rules. An empty rule table means the defaults: the engine never runs without
    guardrails (disable a rule to switch it off)."""
    if not Rule.objects.exists():
        from escalation.rules import DEFAULT_RULES

        return list(DEFAULT_RULES)
    from escalation.rules import RuleError, condition_validate

    specs = []
    for r in Rule.objects.filter(enabled=True):
        try:
            # The admin refuses a malformed condition; a row written some other way is
            # skipped here, so one bad rule cannot switch the others off.
            condition_validate(r.condition)
        except RuleError as exc:
            logger.error("rule %s is skipped: %s", r.code, exc)
            continue
        specs.append(rule_spec(r))
    return specs


def rule_spec(rule: Rule, *, condition: dict[str, Any] | None = None) -> RuleSpec:
    """The engine's view of a stored rule; `condition` replaces its own (a replay's draft)."""
    return RuleSpec(
        code=rule.code,
        name=rule.name,
        condition=condition if condition is not None else rule.condition,
        action=rule.action,
        priority=rule.priority,
        team=rule.team,
        ai_read_only=rule.ai_read_only,
        order=rule.order,
    )


def event_turn(event: Event) -> Turn:
    payload = event.payload
    return Turn(
        role=payload.get("role", "ai" if event.type != "message" else ""),
        text=payload.get("text", ""),
        type=event.type,
        seq=event.seq,
        confidence=payload.get("confidence"),
        tool=payload.get("tool", ""),
        tool_status=payload.get("status", ""),
        tool_args=payload.get("args", {}) or {},
        tool_result=payload.get("result"),
        intent=payload.get("intent") or "",
        topic=payload.get("topic") or "",
    )


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
    )
    from escalation.tasks import prepare_case

    enqueue_on_commit(prepare_case, case.pk)
    return case, True


def case_reopen_if_needed(*, conversation: Conversation) -> Case | None:
    """The customer wrote to a conversation a person owns: if no case is open (a person resolved
    it), open one, so the message does not go unanswered. Call holding the conversation lock."""
    # At most one case is open, and it is the newest: one query answers both questions.
    last = Case.objects.filter(conversation=conversation).order_by("-id").first()
    if last is not None and last.status != Case.Status.RESOLVED:
        return None
    case, _ = case_open(
        conversation=conversation,
        trigger=Case.Trigger.RETURNED,
        reason="after a person closed the last case",
        team=last.team if last else None,
        priority=last.priority if last else None,
    )
    return case


def signal_record(*, conversation: Conversation, kind: str, evidence: dict) -> None:
    """A signal from outside the message stream (the policy layer's denial of an AI action)."""
    Signal.objects.create(conversation=conversation, kind=kind, evidence=evidence)
    analysis_request(conversation_id=conversation.pk)


def _messages_update(*, conversation: Conversation, events: Sequence[Event]) -> list[MessageFacts]:
    """Analyse events not analysed yet (idempotent: one MessageAnalysis per event) and return
    the facts of every event, in seq order."""
    from escalation.analysis import message_analyze

    done = {a.event_id: a for a in MessageAnalysis.objects.filter(conversation=conversation)}
    # Spans live on the signals; without them the packet of an analysed event shows no evidence.
    spans: dict[int, list[dict[str, Any]]] = {}
    if done:
        for event_id, evidence in Signal.objects.filter(
            conversation=conversation, event__isnull=False
        ).values_list("event_id", "evidence"):
            spans.setdefault(event_id, []).extend(evidence.get("spans", []))
    customer_texts: list[str] = []
    ai_texts: list[str] = []
    new_rows, new_signals, facts = [], [], []
    for event in events:
        turn = event_turn(event)
        if event.pk in done:
            row = done[event.pk]
            facts.append(
                MessageFacts(
                    row.seq, row.role, row.sentiment, row.kinds, spans.get(event.pk, []), row.facts
                )
            )
        else:
            fact = message_analyze(
                turn, earlier_customer_texts=customer_texts, earlier_ai_texts=ai_texts
            )
            facts.append(fact)
            new_rows.append(
                MessageAnalysis(
                    event=event,
                    conversation=conversation,
                    seq=event.seq,
                    role=fact.role,
                    sentiment=fact.sentiment,
                    kinds=fact.kinds,
                    facts=fact.facts,
                )
            )
            for kind in fact.kinds:
                kind_spans = [s for s in fact.spans if s["kind"] == kind]
                new_signals.append(
                    Signal(
                        conversation=conversation,
                        event=event,
                        kind=kind,
                        evidence={"seq": event.seq, "spans": kind_spans, **fact.facts},
                    )
                )
        if turn.type == "message" and turn.role == "customer":
            customer_texts.append(turn.text)
        elif turn.type == "message" and turn.role == "ai":
            ai_texts.append(turn.text)
    MessageAnalysis.objects.bulk_create(new_rows, ignore_conflicts=True)
    Signal.objects.bulk_create(new_signals, ignore_conflicts=True)
    return facts


@transaction.atomic
def conversation_analyze(*, conversation_id: int) -> ConversationState | None:
    """Bring the engine's view of a conversation up to date and act on the rules: flag it, or
    hand it to humans. Safe to run any number of times."""
    from conversations.services import conversation_take_for_humans

    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        return None
    events = list(Event.objects.filter(conversation=conversation).order_by("seq", "id"))
    messages = _messages_update(conversation=conversation, events=events)
    turns = [event_turn(e) for e in events]
    # Denials reported by the policy layer arrive as Signal rows without an event.
    outside = list(
        Signal.objects.filter(conversation=conversation, event__isnull=True).values_list(
            "kind", flat=True
        )
    )
    if outside:
        messages = [*messages, MessageFacts(0, "ai", None, outside, [])]
    ref = conversation.customer
    analysis = engine_run(
        turns=turns,
        rules=rules_active(),
        messages=messages,
        external_id=ref.external_id if ref else "",
        email=ref.email if ref else "",
        name=ref.name if ref else "",
        link=False,
    )
    state_row, _ = ConversationState.objects.update_or_create(
        conversation=conversation,
        defaults={
            "sentiment": analysis.state.sentiment,
            "trajectory": analysis.state.trajectory,
            "trend": analysis.state.trend,
            "risk": analysis.state.risk,
            "topic": analysis.state.topic,
            "counts": analysis.state.counts,
            "customer_turns": analysis.state.customer_turns,
            "rules_fired": analysis.rules.codes,
        },
    )
    outcome = analysis.rules
    if outcome.ai_read_only and not conversation.ai_read_only:
        conversation.ai_read_only = True
        conversation.save(update_fields=["ai_read_only", "updated_at"])
    if (
        outcome.escalate
        and conversation.status == Conversation.Status.OPEN
        and conversation.owner == Conversation.Owner.AI
    ):
        lead = outcome.rule
        rule = Rule.objects.filter(code=lead.code).first()
        conversation_take_for_humans(
            conversation=conversation,
            by="escalation",
            reason=lead.code,
            rule=rule,
            priority=lead.priority,
            team=lead.team,
            evidence={
                "rules": outcome.codes,
                "reasons": analysis.reasons,
                "risk": analysis.state.risk,
                "topic": analysis.state.topic,
                "signals": _rule_evidence(conversation=conversation, rule=lead),
            },
        )
    return state_row


MAX_CASE_EVIDENCE = 20


def _rule_evidence(*, conversation: Conversation, rule: RuleSpec) -> list[dict[str, Any]]:
    """The signals behind a rule, with their spans: those of the kinds its condition names (a
    topic condition names the sensitive topics); every signal when it reads risk or sentiment."""
    fields = condition_fields(rule.condition)
    signals = Signal.objects.filter(conversation=conversation).order_by("id")
    if not fields & {"risk", "sentiment", "trend"}:
        kinds = fields & set(SIGNAL_FIELDS)
        if "topic" in fields:
            kinds |= set(SENSITIVE_TOPICS)
        signals = signals.filter(kind__in=kinds)
    return [
        {"kind": s.kind, "seq": s.evidence.get("seq"), "spans": s.evidence.get("spans", [])}
        for s in signals[:MAX_CASE_EVIDENCE]
    ]


def _packet_store(*, case: Case, backend: str, data: dict[str, Any]) -> HandoffPacket | None:
    version = (case.packets.order_by("-version").values_list("version", flat=True).first() or 0) + 1
    try:
        with transaction.atomic():
            return HandoffPacket.objects.create(
                case=case, version=version, backend=backend, data=data
            )
    except IntegrityError:
        return None


def packet_embedded(*, case: Case) -> dict[str, Any]:
    """Build the embedded packet for a case from its conversation as stored now."""
    from actions.catalog import TOOLS
    from actions.services import action_draft
    from desk.selectors import conversation_account_id
    from store.models import Customer

    conversation = case.conversation
    events = list(Event.objects.filter(conversation=conversation).order_by("seq", "id"))
    messages = _messages_update(conversation=conversation, events=events)
    turns = [event_turn(e) for e in events]
    ref = conversation.customer
    analysis = engine_run(
        turns=turns,
        rules=rules_active(),
        messages=messages,
        external_id=(conversation.account_id or (ref.external_id if ref else "")),
        email=ref.email if ref else "",
        name=ref.name if ref else "",
    )
    # The account the platform vouched for comes first. One found from the transcript (a user id
    # or email the customer typed) is shown to the agent, who can check it, but is never bound
    # to the conversation: binding is what lets the AI act on an account, and typing someone's
    # id must not authenticate anybody (policy: find the user by email or name and zip).
    account_id = conversation_account_id(conversation=conversation) or analysis.link.customer_id
    customer = None
    if account_id:
        row = Customer.objects.filter(customer_id=account_id).first()
        if row is not None:
            customer = {
                "customer_id": row.customer_id,
                "lifetime_value": str(row.lifetime_value),
                "first_name": row.first_name,
                "last_name": row.last_name,
                "email": row.email,
                "tier": row.tier,
            }
    drafted = list(case.drafted_actions.values_list("pk", flat=True))
    already = {(d.tool, repr(sorted(d.args.items()))) for d in conversation.drafted_actions.all()}
    for turn in turns:
        # Only actions of the catalog can be drafted: nobody could approve an unknown one.
        if turn.type == "tool_call" and turn.tool_status == "denied" and turn.tool in TOOLS:
            key = (turn.tool, repr(sorted(turn.tool_args.items())))
            if key in already:
                continue
            already.add(key)
            drafted.append(
                action_draft(
                    tool=turn.tool,
                    args=turn.tool_args,
                    drafted_by="ai",
                    account_id=account_id or "",
                    conversation=conversation,
                    case=case,
                ).pk
            )
    conversation.drafted_actions.filter(case__isnull=True).update(case=case)
    drafted = sorted(set(drafted) | set(conversation.drafted_actions.values_list("pk", flat=True)))
    return packet_build(
        turns=turns,
        messages=analysis.messages,
        state=analysis.state,
        entities=analysis.entities,
        link=analysis.link,
        reasons=analysis.reasons,
        customer=customer,
        drafted_actions=drafted,
        writer_name=ref.name if ref else "",
    ) | {"risk": analysis.state.risk}


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
                data = packet_embedded(case=case)
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
    return case


def case_queue(*, case: Case, data: dict[str, Any] | None = None) -> None:
    """Put a prepared case on the queue and tell the desk. Call holding the case row lock.

    `data` is the packet: its risk, topic, summary and the customer's value set the priority,
    the difficulty weight and what the queue card shows.
    """
    from escalation.models import CaseEvent
    from escalation.routing import case_priority, case_schedule, case_weight

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
    case.save()
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.QUEUED, data={"priority": case.priority}
    )
    queue_send_on_commit(case.team, {"type": "case.queued", "case_id": case.pk})
    from escalation.tasks import auto_assign

    enqueue_on_commit(auto_assign)


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
    queued with the embedded one and the LLM packet replaces it when it arrives."""
    from escalation.llm_packets import llm_packet_start

    if not getattr(settings, "BATON_LLM_ENABLED", False):
        return None
    return llm_packet_start(case_id=case.pk, embedded=data)
