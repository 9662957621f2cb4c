"""The widget's push: a widget conversation's record changed (a message, a handoff, the close).

Typed like the pushes of conversations/events.py and sent through its send_now; only the
widget's own socket listens to this group."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from assistant.selectors import widget_integration_name
from conversations.events import events_stored, send_now
from conversations.models import Conversation


class WidgetChanged(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["widget.changed"] = "widget.changed"


def widget_group(conversation_id: int) -> str:
    return f"widget.conversation.{conversation_id}"


def on_events_stored(sender: Any, *, conversation_ids: list[int], **_: Any) -> None:
    """After commit: the open widgets of these conversations fetch what is new."""
    widget_ids = Conversation.objects.filter(
        pk__in=conversation_ids, integration__name=widget_integration_name()
    ).values_list("pk", flat=True)
    for conversation_id in widget_ids:
        send_now(widget_group(conversation_id), WidgetChanged())  # type: ignore[arg-type]


def receivers_connect() -> None:
    events_stored.connect(on_events_stored, dispatch_uid="widget.events_stored")
