"""Writes to the conversation record: integrations and event ingest."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from conversations.events import (
    ConversationControl,
    ConversationEvents,
    ConversationMessage,
    IntegrationRevoked,
    conversation_group,
    events_stored_on_commit,
    integration_group,
    send_on_commit,
)
from conversations.models import Conversation, CustomerRef, Event, Integration
from conversations.ratelimit import rate_limit_take
from conversations.schemas import (
    AckOut,
    CloseEvent,
    ControlOut,
    CustomerIn,
    ErrorCode,
    ErrorOut,
    FeedbackEvent,
    HandoffEvent,
    MessageEvent,
    MessageOut,
    ParseFailure,
    ProtocolEvent,
    client_event_id,
    event_parse,
)

TOKEN_PREFIX = "btn_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_new() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def integration_create(*, name: str) -> tuple[Integration, str]:
    """Create an integration and return it with its token, which is not stored and shown once."""
    token = token_new()
    integration = Integration.objects.create(
        name=name, token_hash=token_hash(token), token_prefix=token[:12]
    )
    return integration, token


@transaction.atomic
def integration_rotate_token(*, integration: Integration) -> str:
    """Issue a new token; the old one stops working at once."""
    token = token_new()
    integration.token_hash = token_hash(token)
    integration.token_prefix = token[:12]
    integration.revoked_at = None
    integration.save(update_fields=["token_hash", "token_prefix", "revoked_at"])
    send_on_commit(integration_group(integration.pk), IntegrationRevoked())
    return token


@transaction.atomic
def integration_revoke(*, integration: Integration) -> None:
    integration.revoked_at = timezone.now()
    integration.save(update_fields=["revoked_at"])
    send_on_commit(integration_group(integration.pk), IntegrationRevoked())


IngestResult = AckOut | ErrorOut


@dataclass
class _Pending:
    index: int
    event: ProtocolEvent


def events_ingest(
    *, integration: Integration, raw_events: Sequence[object], sizes_checked: bool = True
) -> list[IngestResult]:
    """Validate, rate-limit and store a batch of protocol events; one result per event, in order.

    Every ack is for an event that is committed when this returns. `sizes_checked` says the
    caller already held the whole frame to the frame-size limit (the socket does; HTTP does not).
    """
    results: list[IngestResult | None] = [None] * len(raw_events)
    granted = rate_limit_take(key=integration.token_hash[:32], want=len(raw_events))
    pending: list[_Pending] = []
    for index, raw in enumerate(raw_events):
        if index >= granted:
            results[index] = _error(raw, ErrorCode.RATE_LIMITED, _rate_detail())
            continue
        if not sizes_checked and _encoded_size(raw) > settings.BATON_INGEST_MAX_FRAME_BYTES:
            results[index] = _error(
                raw,
                ErrorCode.TOO_LARGE,
                f"The event is over {settings.BATON_INGEST_MAX_FRAME_BYTES} bytes.",
            )
            continue
        try:
            pending.append(_Pending(index, event_parse(raw)))
        except ParseFailure as failure:
            results[index] = failure.error
    if pending:
        try:
            stored = _events_store(integration=integration, pending=pending)
        except (IntegrityError, DataError):
            # Another connection stored one of these ids meanwhile (or a batch reused an id
            # across conversations), or the database refused a value: store one by one so each
            # gets its own answer.
            stored = {}
            for item in pending:
                try:
                    stored.update(_events_store(integration=integration, pending=[item]))
                except IntegrityError:
                    stored[item.index] = AckOut(id=item.event.id, status="duplicate")
                except DataError as exc:
                    stored[item.index] = ErrorOut(
                        id=item.event.id,
                        code=ErrorCode.INVALID_EVENT,
                        detail=f"The database refused this event: {str(exc).splitlines()[0]}",
                    )
        for index, result in stored.items():
            results[index] = result
    return [result for result in results if result is not None]


def _rate_detail() -> str:
    return (
        f"Over the rate limit of {settings.BATON_INGEST_RATE:g} events/s "
        f"(bursts of {settings.BATON_INGEST_BURST}); resend later."
    )


def _error(raw: object, code: str, detail: str) -> ErrorOut:
    return ErrorOut(id=client_event_id(raw), code=code, detail=detail)


def _encoded_size(raw: object) -> int:
    # "replace": an unpaired surrogate is measured here and refused by the parser.
    text = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8", "replace"))


@transaction.atomic(durable=True)
def _events_store(*, integration: Integration, pending: list[_Pending]) -> dict[int, IngestResult]:
    results: dict[int, IngestResult] = {}
    conversations = _conversations_lock(
        integration=integration,
        external_ids=sorted({item.event.conversation for item in pending}),
    )
    known_ids = set(
        Event.objects.filter(
            integration=integration,
            event_id__in=[item.event.id for item in pending],
        ).values_list("event_id", flat=True)
    )
    rows: list[Event] = []
    changed: dict[int, Conversation] = {}
    handoffs: list[Conversation] = []
    handed_off: set[int] = set()
    for item in pending:
        event = item.event
        if event.id in known_ids:
            results[item.index] = AckOut(id=event.id, status="duplicate")
            continue
        conversation = conversations[event.conversation]
        if (
            conversation.closed_at_seq is not None
            and event.seq > conversation.closed_at_seq
            # A survey is answered after the close: feedback is the one event taken then.
            and not isinstance(event, FeedbackEvent)
        ):
            results[item.index] = ErrorOut(
                id=event.id,
                code=ErrorCode.CONVERSATION_CLOSED,
                detail=f"Conversation {conversation.external_id!r} was closed at "
                f"seq {conversation.closed_at_seq}.",
            )
            continue
        if (
            isinstance(event, MessageEvent)
            and event.role == "ai"
            and (
                conversation.owner == Conversation.Owner.HUMAN
                # A handoff earlier in this batch already took the conversation from the AI.
                or conversation.pk in handed_off
            )
        ):
            results[item.index] = ErrorOut(
                id=event.id,
                code=ErrorCode.NOT_OWNER,
                detail="A human owns this conversation: the AI must stay silent until it is "
                "handed back.",
            )
            continue
        known_ids.add(event.id)
        rows.append(_event_row(integration=integration, conversation=conversation, event=event))
        _conversation_apply(conversation=conversation, event=event)
        changed[conversation.pk] = conversation
        if isinstance(event, HandoffEvent) and conversation.status == Conversation.Status.OPEN:
            handoffs.append(conversation)
            handed_off.add(conversation.pk)
        results[item.index] = AckOut(id=event.id, status="stored")
    Event.objects.bulk_create(rows)
    now = timezone.now()
    for conversation in changed.values():
        # The durable mark: whatever happens to the task that events_stored starts, the
        # engine's sweep finds the conversation and analyses it (analysis_done clears it).
        conversation.analysis_due_at = now
        conversation.save(
            update_fields=[
                "last_seq",
                "status",
                "outcome",
                "closed_at_seq",
                "closed_at",
                "owner",
                "customer",
                "analysis_due_at",
                "updated_at",
            ]
        )
    for conversation in handoffs:
        conversation_owner_set(conversation=conversation, owner=Conversation.Owner.HUMAN, by="ai")
    for conversation in changed.values():
        # Only a human's case page watches a conversation live.
        if conversation.owner == Conversation.Owner.HUMAN:
            send_on_commit(conversation_group(conversation.pk), ConversationEvents())
    events_stored_on_commit(conversation_ids=sorted(changed), urgent=sorted(handed_off))
    return results


def _conversations_lock(
    *, integration: Integration, external_ids: list[str]
) -> dict[str, Conversation]:
    """Fetch or create the conversations and lock their rows, in a fixed order (no deadlocks)."""

    def locked(ids: list[str]) -> dict[str, Conversation]:
        rows = (
            Conversation.objects.select_for_update()
            .filter(integration=integration, external_id__in=ids)
            .order_by("external_id")
        )
        return {c.external_id: c for c in rows}

    found = locked(external_ids)
    missing = [external_id for external_id in external_ids if external_id not in found]
    for external_id in missing:
        # get_or_create survives a concurrent insert of the same conversation.
        Conversation.objects.get_or_create(integration=integration, external_id=external_id)
    if missing:
        found.update(locked(missing))
    return found


def _event_row(
    *, integration: Integration, conversation: Conversation, event: ProtocolEvent
) -> Event:
    # The fields the client sent (unknown ones dropped), not defaults it never sent.
    payload = event.model_dump(mode="json", exclude_unset=True)
    return Event(
        integration=integration,
        conversation=conversation,
        event_id=payload["id"],
        seq=payload["seq"],
        type=payload["type"],
        role=payload.get("role", ""),
        text=payload.get("text", ""),
        payload=payload,
        at=event.at,
    )


def _conversation_apply(*, conversation: Conversation, event: ProtocolEvent) -> None:
    """Fold one event into the conversation's state (the caller saves)."""
    conversation.last_seq = max(conversation.last_seq, event.seq)
    customer = getattr(event, "customer", None)
    # Feedback after the close is stored, but a closed conversation's customer stays as it
    # ended: its contact's figures were decided on who that was.
    after_close = conversation.closed_at_seq is not None and event.seq > conversation.closed_at_seq
    if customer is not None and not after_close:
        _customer_link(conversation=conversation, customer=customer)
    if isinstance(event, CloseEvent) and conversation.closed_at_seq is None:
        conversation.status = Conversation.Status.CLOSED
        conversation.outcome = event.outcome
        conversation.closed_at_seq = event.seq
        conversation.closed_at = timezone.now()


def _customer_link(*, conversation: Conversation, customer: CustomerIn) -> None:
    fields = {k: v for k, v in customer.model_dump().items() if v}
    if not fields:
        return
    ref = None
    if customer.external_id:
        ref, _ = CustomerRef.objects.get_or_create(
            integration_id=conversation.integration_id, external_id=customer.external_id
        )
    elif conversation.customer_id is not None:
        ref = conversation.customer
    else:
        ref = CustomerRef.objects.create(integration_id=conversation.integration_id)
    changed = [name for name, value in fields.items() if getattr(ref, name) != value]
    for name in changed:
        setattr(ref, name, fields[name])
    if changed:
        ref.save(update_fields=[*changed, "updated_at"])
    conversation.customer = ref


def conversation_owner_set(
    *,
    conversation: Conversation,
    owner: str,
    by: Literal["escalation", "agent", "ai"],
    note: str = "",
) -> bool:
    """Give the conversation to humans or back to the AI, and tell every open socket of the
    integration after commit (with the agent's note on a hand-back). Call holding the
    conversation row lock. Returns whether the owner changed."""
    if conversation.owner == owner:
        return False
    conversation.owner = owner
    conversation.save(update_fields=["owner", "updated_at"])
    frame = ControlOut(
        conversation=conversation.external_id,
        owner=owner,  # type: ignore[arg-type]
        by=by,
        note=note[:2000] if owner == Conversation.Owner.AI and note else None,
    )
    send_on_commit(
        integration_group(conversation.integration_id),
        ConversationControl(frame=frame),
    )
    return True


def conversation_message_add(
    *, conversation: Conversation, role: Literal["agent"], text: str, author: str
) -> Event:
    """Store a message a person at the desk wrote, and send it on the customer's channel as a
    protocol `message` frame after commit. `author` is the name the customer sees. Call holding
    the conversation row lock (the next seq is taken from it)."""
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(last_seq=F("last_seq") + 1)
    conversation.refresh_from_db(fields=["last_seq"])
    frame = MessageOut(
        conversation=conversation.external_id,
        role=role,
        text=text,
        id=f"desk-{uuid.uuid4().hex}",
        at=now.isoformat().replace("+00:00", "Z"),
    )
    # The stored event is the frame plus where it sits and who wrote it.
    payload = frame.model_dump() | {"seq": conversation.last_seq, "agent": author}
    event = Event.objects.create(
        integration_id=conversation.integration_id,
        conversation=conversation,
        event_id=frame.id,
        seq=conversation.last_seq,
        type=Event.Type.MESSAGE,
        role=role,
        text=text,
        payload=payload,
        at=now,
    )
    send_on_commit(
        integration_group(conversation.integration_id),
        ConversationMessage(frame=frame),
    )
    send_on_commit(conversation_group(conversation.pk), ConversationEvents())
    return event


def conversation_ai_read_only_set(*, conversation: Conversation) -> None:
    """From now on the AI may only read in this conversation (an injection attempt was seen)."""
    if not conversation.ai_read_only:
        conversation.ai_read_only = True
        conversation.save(update_fields=["ai_read_only", "updated_at"])


def conversation_account_bind(*, conversation: Conversation, account_id: str) -> bool:
    """Bind the store account the conversation is about, once: a later, different account is
    never bound over it. Returns whether the conversation is bound to `account_id` now."""
    Conversation.objects.filter(pk=conversation.pk, account_id="").update(account_id=account_id)
    conversation.refresh_from_db(fields=["account_id"])
    return conversation.account_id == account_id


def conversation_analysis_done(*, conversation_id: int, started_at: datetime) -> None:
    """The engine analysed everything stored before `started_at`: clear the durable mark,
    unless events arrived since."""
    Conversation.objects.filter(pk=conversation_id, analysis_due_at__lte=started_at).update(
        analysis_due_at=None
    )
