"""The assistant's writes. It speaks the protocol like any platform: every message, tool call,
signal and handoff goes in through conversations.services.events_ingest as the widget's
integration, so the engine, the packet and the metrics treat it as they treat any AI."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from actions.selectors import conversation_account_id
from actions.services import storable
from assistant import llm, output_filter, responder
from assistant.models import AssistantTurn
from assistant.selectors import (
    conversation_transcript,
    unanswered_messages,
    widget_integration_name,
)
from assistant.turn import Turn
from conversations.models import Conversation, Event, Integration
from conversations.services import IngestResult, events_ingest, integration_create
from store.models import Customer

logger = logging.getLogger(__name__)

DEFAULT_HANDOFF_MESSAGE = (
    "I'm connecting you with a specialist who will have full context from our conversation."
)


def widget_integration() -> Integration:
    """The integration the widget's conversations belong to, created on first use. Its token
    is never shown: the widget and the assistant write in-process, not over the socket."""
    name = widget_integration_name()
    found = Integration.objects.filter(name=name).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            integration, _ = integration_create(name=name)
    except IntegrityError:
        return Integration.objects.get(name=name)
    return integration


def handoff_message() -> str:
    return getattr(settings, "BATON_HANDOFF_MESSAGE", "") or DEFAULT_HANDOFF_MESSAGE


def _now() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


def customer_message(
    *,
    conversation_external_id: str,
    text: str,
    customer: dict[str, Any] | None,
    event_id: str,
    seq: int | None = None,
) -> IngestResult:
    """Store the customer's message in the widget's conversation (created on the first one).
    The assistant answers from the events_stored receiver, after commit."""
    integration = widget_integration()
    if seq is None:
        last = (
            Conversation.objects.filter(
                integration=integration, external_id=conversation_external_id
            )
            .values_list("last_seq", flat=True)
            .first()
        )
        seq = (last or 0) + 1
    raw: dict[str, Any] = {
        "type": "message",
        "id": event_id,
        "conversation": conversation_external_id,
        "seq": seq,
        "at": _now(),
        "role": "customer",
        "text": text,
    }
    if customer:
        raw["customer"] = customer
    return events_ingest(integration=integration, raw_events=[raw], sizes_checked=False)[0]


def assistant_reply(*, conversation_id: int) -> list[IngestResult]:
    """Answer the customer's unanswered messages in a widget conversation the AI owns; silent
    while a human owns it. Safe to run twice, or twice at once: the AssistantTurn claim on the
    last message lets one run answer it (and the turn's event ids derive from it)."""
    conversation = (
        Conversation.objects.select_related("integration", "customer")
        .filter(pk=conversation_id)
        .first()
    )
    if (
        conversation is None
        or conversation.integration.name != widget_integration_name()
        or conversation.owner != Conversation.Owner.AI
        or conversation.status != Conversation.Status.OPEN
    ):
        return []
    events = conversation_transcript(conversation=conversation)
    pending = unanswered_messages(events=events)
    if not pending:
        return []
    backend = (
        AssistantTurn.Backend.LLM if llm.is_configured() else AssistantTurn.Backend.DETERMINISTIC
    )
    try:
        with transaction.atomic():
            claim = AssistantTurn.objects.create(
                conversation=conversation, answered=pending[-1], backend=backend
            )
    except IntegrityError:
        return []  # Another run answers (or answered) this message.
    try:
        turn = _turn(conversation=conversation, events=events, pending=pending)
    except BaseException:
        # Nothing was said: let a retry answer it.
        claim.delete()
        raise
    conversation.refresh_from_db(fields=["account_id", "ai_read_only", "owner", "last_seq"])
    turn = output_filter.turn_filter(
        turn=turn,
        account_id=conversation_account_id(conversation=conversation),
        system_prompt=llm.system_prompt(),
        history=[e.payload for e in events if e.type == Event.Type.TOOL_CALL],
    )
    results = _turn_write(conversation=conversation, turn=turn, prefix=f"asst-{pending[-1].pk}-")
    claim.blocked, claim.handed_off = turn.blocked, bool(turn.handoff_reason)
    claim.finished_at = timezone.now()
    claim.save(update_fields=["blocked", "handed_off", "finished_at"])
    return results


def _turn(*, conversation: Conversation, events: list[Event], pending: list[Event]) -> Turn:
    if llm.is_configured():
        try:
            return llm.llm_turn(conversation=conversation, events=events)
        except llm.LlmFailed:
            logger.exception("assistant LLM failed in conversation %s", conversation.pk)
            return Turn(
                text="I'm having trouble answering right now.",
                confidence=0.0,
                intent="assistant_error",
                handoff_reason="assistant_error",
                handoff_note="The assistant's LLM failed; a person should answer.",
            )
    return responder.deterministic_turn(conversation=conversation, events=events, pending=pending)


def _customer_object(conversation: Conversation) -> dict[str, str] | None:
    """Who the customer is, once verified, for the desk: sent once, with the store's id."""
    account_id = conversation.account_id
    ref = conversation.customer
    if not account_id or (ref is not None and ref.external_id == account_id):
        return None
    row = Customer.objects.filter(customer_id=account_id).first()
    if row is None:
        return None
    return {
        "external_id": account_id,
        "email": row.email[:254],
        "name": f"{row.first_name} {row.last_name}".strip()[:200],
    }


def _turn_write(*, conversation: Conversation, turn: Turn, prefix: str) -> list[IngestResult]:
    seq = conversation.last_seq
    base = {"conversation": conversation.external_id, "at": _now()}
    raw: list[dict[str, Any]] = []

    def add(suffix: str, **fields: Any) -> None:
        nonlocal seq
        seq += 1
        raw.append({**base, "id": prefix + suffix, "seq": seq, **fields})

    for number, record in enumerate(turn.tools, start=1):
        add(
            f"t{number}",
            type="tool_call",
            tool=record.tool,
            args=record.args,
            status=record.status,
            result=record.result,
        )
    text = turn.text
    if turn.handoff_reason:
        text = f"{text} {handoff_message()}".strip()
    # A NUL or a lone surrogate from the model would make ingest refuse the whole message.
    add("m", type="message", role="ai", text=storable(text)[:16000] or handoff_message())
    signal: dict[str, Any] = {
        "type": "ai_signal",
        "confidence": round(max(0.0, min(1.0, turn.confidence)), 3),
        "intent": ("output_blocked" if turn.blocked else turn.intent)[:100],
    }
    topic = ",".join(turn.blocked) if turn.blocked else turn.topic
    if topic:
        signal["topic"] = topic[:100]
    customer = _customer_object(conversation)
    if customer:
        signal["customer"] = customer
    add("s", **signal)
    if turn.handoff_reason:
        add(
            "h",
            type="handoff",
            reason=turn.handoff_reason[:100],
            note=(turn.handoff_note or "")[:2000] or None,
        )
    results = events_ingest(integration=conversation.integration, raw_events=raw)
    for result in results:
        if result.type == "error" and result.code != "not_owner":
            # The widget's integration shares one rate budget; a refusal here is a lost turn.
            logger.warning(
                "assistant turn in conversation %s: %s %s",
                conversation.pk,
                result.code,
                result.detail,
            )
    return results
