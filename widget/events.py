"""The widget's receiver: after a commit that stored events of widget conversations, their
open widgets are told (the typed push `widget.changed` of conversations/events.py, to the
conversation's widget group, which only the widget's own sockets join)."""

from __future__ import annotations

from typing import Any

from assistant.selectors import widget_integration_name
from conversations.events import (
    WidgetChanged,
    events_stored,
    send_now,
    widget_conversation_group,
)
from conversations.models import Conversation


def on_events_stored(sender: Any, *, conversation_ids: list[int], **_: Any) -> None:
    """After commit: the open widgets of these conversations fetch what is new."""
    widget_ids = Conversation.objects.filter(
        pk__in=conversation_ids, integration__name=widget_integration_name()
    ).values_list("pk", flat=True)
    for conversation_id in widget_ids:
        send_now(widget_conversation_group(conversation_id), WidgetChanged())


def receivers_connect() -> None:
    """Called from WidgetConfig.ready()."""
    events_stored.connect(on_events_stored, dispatch_uid="widget.events_stored")
