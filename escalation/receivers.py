"""What the engine does when the record below it says something happened (conversations.events).
Interfaces only: each receiver asks for a task."""

from __future__ import annotations

from typing import Any

from conversations.events import AgentAccessChanged, agent_group, send_on_commit
from escalation.models import AgentProfile
from escalation.services import analysis_request


def on_events_stored(*, conversation_ids: list[int], urgent: list[int], **_: Any) -> None:
    urgent_ids = set(urgent)
    for conversation_id in conversation_ids:
        analysis_request(conversation_id=conversation_id, urgent=conversation_id in urgent_ids)


def on_roster_changed(*, sender: Any, instance: Any, **kwargs: Any) -> None:
    """A user, their agent profile or their teams changed (in the admin, say): their open desk
    sockets re-check what they may see. `m2m_changed` from the team side names the profiles."""
    if isinstance(instance, AgentProfile):
        user_ids = [instance.user_id]
    elif kwargs.get("model") is AgentProfile:
        user_ids = list(
            AgentProfile.objects.filter(pk__in=kwargs.get("pk_set") or ()).values_list(
                "user_id", flat=True
            )
        )
    else:
        user_ids = [instance.pk]
    for user_id in user_ids:
        send_on_commit(agent_group(user_id), AgentAccessChanged())
