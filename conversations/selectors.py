"""Reads of the conversation record. Every read follows seq order."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from conversations.models import Conversation, Event, Integration
from conversations.services import token_hash


def integration_for_token(*, token: str) -> Integration | None:
    """The active integration that owns this bearer token, if any."""
    if not token:
        return None
    return Integration.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True).first()


def conversation_get_for_integration(
    *, integration: Integration, external_id: str
) -> Conversation | None:
    """The one access path to a conversation for an integration: only its own are visible."""
    return Conversation.objects.filter(integration=integration, external_id=external_id).first()


def conversation_events(*, conversation: Conversation) -> QuerySet[Event]:
    return Event.objects.filter(conversation=conversation).order_by("seq", "id")


def conversation_wire(*, conversation: Conversation) -> dict[str, Any]:
    """The conversation as the read API returns it: events with their protocol fields."""
    events = conversation_events(conversation=conversation).values_list("payload", flat=True)
    return {
        "conversation": conversation.external_id,
        "owner": conversation.owner,
        "status": conversation.status,
        "events": list(events),
    }


def conversations_analysis_overdue(*, before: Any, limit: int = 500) -> list[int]:
    """Conversations with events the engine should have analysed by `before` (a lost task)."""
    return list(
        Conversation.objects.filter(analysis_due_at__lt=before)
        .order_by("analysis_due_at")
        .values_list("pk", flat=True)[:limit]
    )
