"""What the desk's page tests share: the HTMX header, a fragment's checks, a case's timeline
and an agent at the desk."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from escalation.models import AgentProfile, Case

HTMX = {"HX-Request": "true"}


def at_desk(user: Any, **fields: Any) -> None:
    """The agent has the desk open (online, with a fresh heartbeat)."""
    AgentProfile.objects.filter(user=user).update(
        presence=AgentProfile.Presence.ONLINE, last_seen_at=timezone.now(), **fields
    )


def fragment(response: Any) -> str:
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="workspace"'), html[:200]
    assert "<html" not in html
    return html


def kinds(case: Case) -> list[str]:
    return list(case.timeline.order_by("at", "id").values_list("kind", flat=True))
