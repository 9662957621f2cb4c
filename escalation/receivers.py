"""What the engine does when the record below it says something happened (conversations.events).
Interfaces only: each receiver asks for a task."""

from __future__ import annotations

from typing import Any

from escalation.services import analysis_request


def on_events_stored(*, conversation_ids: list[int], urgent: list[int], **_: Any) -> None:
    urgent_ids = set(urgent)
    for conversation_id in conversation_ids:
        analysis_request(conversation_id=conversation_id, urgent=conversation_id in urgent_ids)
