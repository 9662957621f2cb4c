"""Reads of the record for the assistant."""

from __future__ import annotations

from django.conf import settings
from django.db.models import OuterRef, Subquery

from conversations.models import Conversation, Event

WIDGET_INTEGRATION = "baton-widget"


def widget_integration_name() -> str:
    return getattr(settings, "BATON_WIDGET_INTEGRATION", WIDGET_INTEGRATION)


def conversations_awaiting_reply(*, conversation_ids: list[int]) -> list[int]:
    """Of these, the widget's open conversations the AI owns whose last message is the
    customer's: the ones the assistant should answer now. One query."""
    if not conversation_ids:
        return []
    last_role = Subquery(
        Event.objects.filter(conversation=OuterRef("pk"), type=Event.Type.MESSAGE)
        .order_by("-seq", "-id")
        .values("role")[:1]
    )
    return list(
        Conversation.objects.filter(
            pk__in=conversation_ids,
            integration__name=widget_integration_name(),
            owner=Conversation.Owner.AI,
            status=Conversation.Status.OPEN,
        )
        .annotate(last_role=last_role)
        .filter(last_role="customer")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def conversation_transcript(*, conversation: Conversation) -> list[Event]:
    """Every event of the conversation, in order."""
    return list(conversation.events.order_by("seq", "id"))


def unanswered_messages(*, events: list[Event]) -> list[Event]:
    """The customer's messages after the last thing the AI said or did (a message or a
    handoff): what this turn answers."""
    pending: list[Event] = []
    for event in events:
        if event.type == Event.Type.MESSAGE and event.role == "customer":
            pending.append(event)
        elif (event.type == Event.Type.MESSAGE and event.role in ("ai", "agent")) or (
            event.type == Event.Type.HANDOFF
        ):
            pending = []
    return pending
