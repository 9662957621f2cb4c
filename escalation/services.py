"""Writes of the escalation engine's view of a conversation: message analyses, signals and the
conversation's state. What the engine then does (open a case) is escalation/cases/lifecycle.py."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from conversations.events import enqueue_on_commit
from conversations.models import Conversation, Event
from escalation import tasks
from escalation.analysis import MessageFacts, Turn, message_analyze
from escalation.engine import Analysis, engine_run
from escalation.models import ConversationState, MessageAnalysis, Rule, Signal
from escalation.rules import (
    DEFAULT_RULES,
    SIGNAL_FIELDS,
    RuleError,
    RuleSpec,
    condition_fields,
    condition_validate,
)
from escalation.signals.topics import TOPIC_KINDS

logger = logging.getLogger(__name__)


# A burst of events on one conversation asks for one analysis, not one per frame: the task
# analyses everything not analysed yet, so a request made while one is pending adds nothing.
ANALYSIS_COALESCE_SECONDS = 0.25


@functools.cache
def _redis() -> Any:
    return redis.Redis.from_url(settings.REDIS_URL)


def analysis_key(conversation_id: int) -> str:
    return f"baton:analysis-pending:{conversation_id}"


def analysis_request(*, conversation_id: int, urgent: bool = False) -> None:
    """Ask for the conversation to be analysed, after commit. With a broker, requests within
    ANALYSIS_COALESCE_SECONDS of a pending one are folded into it; an urgent one (a handoff:
    a customer waits for a person) is not delayed."""
    if urgent or settings.CELERY_TASK_ALWAYS_EAGER or not settings.REDIS_URL:
        enqueue_on_commit(tasks.analyze_conversation, conversation_id)
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
            tasks.analyze_conversation.apply_async(
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
        return list(DEFAULT_RULES)
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


def signal_record(*, conversation: Conversation, kind: str, evidence: dict) -> None:
    """A signal from outside the message stream (the policy layer's denial of an AI action)."""
    Signal.objects.create(conversation=conversation, kind=kind, evidence=evidence)
    analysis_request(conversation_id=conversation.pk)


def _messages_update(*, conversation: Conversation, events: Sequence[Event]) -> list[MessageFacts]:
    """Analyse events not analysed yet (idempotent: one MessageAnalysis per event) and return
    the facts of every event, in seq order."""
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


@dataclass(frozen=True)
class Baseline:
    """Where a conversation starts again for the engine: after the event `seq`, and for
    signals without an event (the policy layer's), after `at`."""

    seq: int
    at: datetime | None = None


@dataclass
class EngineRun:
    turns: list[Turn]
    analysis: Analysis
    # The events this run analysed for the first time: what is new since the last run.
    new_events: list[Event]


def conversation_engine_run(
    *,
    conversation: Conversation,
    external_id: str = "",
    link: bool = True,
    policy_denials: bool = False,
    since: Baseline | None = None,
) -> EngineRun:
    """Analyse what is new in the conversation and run the engine over all of it (signals,
    state, rules, entities and, with `link`, the customer's records). With `policy_denials`
    the policy layer's denials of the AI's calls count as signals too. With `since`, the
    engine reads only what came after it (a hand-back): every event is still analysed, but
    the earlier ones are no reason for anything now. Safe to run any number of times. Call
    holding the conversation (or its case) row lock."""
    events = list(Event.objects.filter(conversation=conversation).order_by("seq", "id"))
    analysed = set(
        MessageAnalysis.objects.filter(conversation=conversation).values_list("event_id", flat=True)
    )
    messages = _messages_update(conversation=conversation, events=events)
    new_events = [e for e in events if e.pk not in analysed]
    if since is not None and since.seq:
        kept = [i for i, e in enumerate(events) if e.seq > since.seq]
        events = [events[i] for i in kept]
        messages = [messages[i] for i in kept]
    turns = [event_turn(e) for e in events]
    if policy_denials:
        # Denials reported by the policy layer arrive as Signal rows without an event.
        outside_rows = Signal.objects.filter(conversation=conversation, event__isnull=True)
        if since is not None and since.at is not None:
            outside_rows = outside_rows.filter(created_at__gt=since.at)
        outside = list(outside_rows.values_list("kind", flat=True))
        if outside:
            messages = [*messages, MessageFacts(0, "ai", None, outside, [])]
    ref = conversation.customer
    analysis = engine_run(
        turns=turns,
        rules=rules_active(),
        messages=messages,
        external_id=external_id or (ref.external_id if ref else ""),
        email=ref.email if ref else "",
        name=ref.name if ref else "",
        link=link,
    )
    return EngineRun(turns=turns, analysis=analysis, new_events=new_events)


def conversation_state_save(*, conversation: Conversation, analysis: Analysis) -> ConversationState:
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
    return state_row


MAX_CASE_EVIDENCE = 20


def rule_evidence(
    *, conversation: Conversation, rule: RuleSpec, since: Baseline | None = None
) -> list[dict[str, Any]]:
    """The signals behind a rule, with their spans: those of the kinds its condition names (a
    topic condition names the sensitive topics); every signal when it reads risk or sentiment.
    With `since`, only the signals of events after it."""
    fields = condition_fields(rule.condition)
    signals = Signal.objects.filter(conversation=conversation).order_by("id")
    if since is not None and since.seq:
        signals = signals.filter(Q(event__seq__gt=since.seq) | Q(event__isnull=True))
        if since.at is not None:
            signals = signals.exclude(event__isnull=True, created_at__lte=since.at)
    if not fields & {"risk", "sentiment", "trend"}:
        kinds = fields & set(SIGNAL_FIELDS)
        if "topic" in fields:
            kinds |= set(TOPIC_KINDS)
        signals = signals.filter(kind__in=kinds)
    return [
        {"kind": s.kind, "seq": s.evidence.get("seq"), "spans": s.evidence.get("spans", [])}
        for s in signals[:MAX_CASE_EVIDENCE]
    ]
