"""What the metrics pages read besides the reports: the rows behind a figure, with the case
each links to, and a conversation's transcript for a supervisor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from conversations.models import Conversation, Event
from escalation.cases.access import user_is_supervisor
from escalation.models import Case
from outcomes.models import Contact, Outcome, Path


def _last_case() -> Subquery:
    return Subquery(
        Case.objects.filter(conversation_id=OuterRef("conversation_id"))
        .order_by("-queued_at", "-id")
        .values("id")[:1]
    )


def contacts_rows(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """The contacts with what a row shows: the conversation and its customer, and the id of
    its last case (`last_case_id`, None when no case was ever opened). Newest ended first."""
    return (
        contacts.select_related("conversation", "conversation__customer")
        .annotate(last_case_id=_last_case())
        .order_by("-ended_at", "-conversation_id")
    )


def customer_label(conversation: Conversation) -> str:
    customer = conversation.customer
    if customer is None:
        return ""
    return customer.name or customer.email or customer.external_id


CSV_HEAD = (
    "conversation_id",
    "conversation",
    "customer",
    "customer_key",
    "topic",
    "team",
    "tier",
    "path",
    "outcome",
    "confirmed",
    "abandoned_in_queue",
    "human_end",
    "fcr",
    "recurred_30d_same",
    "recurred_30d_any",
    "csat",
    "rating",
    "rating_ai",
    "rating_human",
    "wait_seconds",
    "ai_seconds",
    "repeated",
    "cold_greeting",
    "repurchased_60d",
    "cancelled_60d",
    "started_at",
    "ended_at",
    "case_id",
)


# A cell a spreadsheet would read as a formula (OWASP's CSV injection): a platform or a
# customer wrote these strings.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def contacts_csv_rows(contacts: QuerySet[Contact], *, chunk: int = 2000) -> Iterator[tuple]:
    """The header, then one tuple per contact, read in chunks (the export streams)."""
    yield CSV_HEAD
    for contact in contacts_rows(contacts).iterator(chunk_size=chunk):
        conversation = contact.conversation
        yield (
            contact.conversation_id,
            _cell(conversation.external_id),
            _cell(customer_label(conversation)),
            _cell(contact.customer_key),
            *(_cell(getattr(contact, name, None)) for name in CSV_HEAD[4:-1]),
            _cell(contact.last_case_id),
        )


@dataclass(frozen=True)
class Transcript:
    conversation: Conversation
    contact: Contact | None
    events: list[Event]
    case_ids: list[int]


def conversation_transcript_for_supervisor(*, user: Any, conversation_id: int) -> Transcript:
    """The one access path to a conversation's transcript on the metrics pages: supervisors
    only (PermissionError), any conversation (LookupError when there is none)."""
    if not user_is_supervisor(user):
        raise PermissionError("Only supervisors read transcripts from the metrics.")
    conversation = (
        Conversation.objects.select_related("customer", "integration")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise LookupError(f"No conversation {conversation_id}.")
    return Transcript(
        conversation=conversation,
        contact=Contact.objects.filter(conversation=conversation).first(),
        events=list(Event.objects.filter(conversation=conversation).order_by("seq", "id")),
        case_ids=list(
            Case.objects.filter(conversation=conversation)
            .order_by("queued_at", "id")
            .values_list("id", flat=True)
        ),
    )


PATH_LABELS = dict(Path.choices)
OUTCOME_LABELS = dict(Outcome.choices)


def outcome_label(contact: Contact) -> str:
    """The outcome as the page's figures split it (confirmed/assumed, in the queue)."""
    if contact.outcome == Outcome.AI_RESOLVED:
        return "AI-resolved, confirmed" if contact.confirmed else "AI-resolved, assumed"
    if contact.outcome == Outcome.ABANDONED and contact.abandoned_in_queue:
        return "Abandoned in the queue"
    return OUTCOME_LABELS.get(contact.outcome, contact.outcome or "open")
