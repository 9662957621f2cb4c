"""The widget's push: a widget conversation's record changed (a message, a handoff, the close).

Typed like the pushes of conversations/events.py and sent through its send_now to the
conversation's widget group (conversations.events.widget_conversation_group), which only the
widget's own sockets join."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from assistant.selectors import widget_integration_name
from conversations.events import events_stored, send_now, widget_conversation_group
from conversations.models import Conversation


class WidgetChanged(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["widget.changed"] = "widget.changed"


def on_events_stored(sender: Any, *, conversation_ids: list[int], **_: Any) -> None:
    """After commit: the open widgets of these conversations fetch what is new."""
    widget_ids = Conversation.objects.filter(
        pk__in=conversation_ids, integration__name=widget_integration_name()
    ).values_list("pk", flat=True)
    for conversation_id in widget_ids:
        send_now(widget_conversation_group(conversation_id), WidgetChanged())  # type: ignore[arg-type]


def receivers_connect() -> None:
    events_stored.connect(on_events_stored, dispatch_uid="widget.events_stored")
