"""The workload board (escalation/workload/board.py) on hand-built shifts: each figure and each
part of the index pinned, and the board's query count independent of the number of agents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conversations.models import Event
from escalation.models import AgentProfile, Case, MessageAnalysis, PresenceChange
from escalation.workload.board import agents_workload
from tests.factories import AgentProfileFactory, CaseFactory, EventFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)
START = NOW - timedelta(hours=8)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def agent(username: str = "maya", *, online_since: datetime | None = START, **kwargs: Any) -> Any:
    """An agent at the desk (online since `online_since`, before the shift by default)."""
    profile = AgentProfileFactory(
        user__username=username,
        presence=AgentProfile.Presence.ONLINE,
        last_seen_at=NOW,
        presence_since=online_since,
        **kwargs,
    )
    if online_since is not None:
        PresenceChange.objects.create(
            user=profile.user, presence=AgentProfile.Presence.ONLINE, at=online_since - minutes(1)
        )
    return profile.user


def held(
    user: Any,
    *,
    d: float,
    at: datetime,
    resolved: datetime | None = None,
    first_reply: datetime | None = None,
    sentiment: float = 0.0,
) -> Case:
    return CaseFactory(
        status=Case.Status.RESOLVED if resolved else Case.Status.ASSIGNED,
        assignee=user,
        assigned_at=at,
        resolved_at=resolved,
        first_response_at=first_reply,
        difficulty=d,
        sentiment=sentiment,
    )


def customer_says(case: Case, *, at: datetime, sentiment: float) -> Event:
    event = EventFactory(conversation=case.conversation, at=at)
    MessageAnalysis.objects.create(
        event=event,
        conversation=case.conversation,
        seq=event.seq,
        role="customer",
        sentiment=sentiment,
    )
    return event


def row(user: Any) -> Any:
    return next(r for r in agents_workload(now=NOW) if r.user_id == user.pk)


def test_smoke() -> None:
    maya = agent()
    c = held(maya, d=0.8, at=NOW - minutes(50))
    customer_says(c, at=NOW - minutes(40), sentiment=-0.6)
    customer_says(c, at=NOW - minutes(30), sentiment=0.3)
    r = row(maya)
    print(r)
    assert r.open_cases == 1
