"""What the assistant does when the record says events were stored. Interfaces only: the
receiver asks for the reply task, after commit."""

from __future__ import annotations

from typing import Any

from assistant import tasks
from assistant.selectors import conversations_awaiting_reply
from conversations.events import enqueue_on_commit, events_stored


def on_events_stored(*, conversation_ids: list[int], **_: Any) -> None:
    for conversation_id in conversations_awaiting_reply(conversation_ids=conversation_ids):
        enqueue_on_commit(tasks.assistant_reply, conversation_id)


def receivers_connect() -> None:
    """Called from AssistantConfig.ready()."""
    events_stored.connect(on_events_stored, dispatch_uid="assistant.events_stored")
