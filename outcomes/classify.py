"""A contact's path, outcome and figures, decided from its history alone (docs/metrics.md).

classify() is pure: it reads a ContactHistory, the same customer's later conversations and
their store activity, and the time now. It never touches the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from outcomes.history import ContactHistory, LaterContact, StoreActivity

__all__ = ["ContactFacts", "LaterContact", "StoreActivity", "classify"]


@dataclass(frozen=True)
class ContactFacts:
    """Contact's fields, one to one (outcomes/models.py), except the conversation itself."""

    started_at: datetime
    customer_key: str = ""
    account_id: str = ""
    tier: str = ""
    topic: str = ""
    team: str = ""
    ended_at: datetime | None = None
    ended_by: str = ""
    path: str = ""
    outcome: str = ""
    confirmed: bool = False
    abandoned_in_queue: bool = False
    human_end: str = ""
    resolved: bool = False
    first_owner: bool = False
    fcr: bool = False
    recurred_7d_same: bool = False
    recurred_30d_same: bool = False
    recurred_30d_any: bool = False
    rating: int | None = None
    rating_ai: int | None = None
    rating_human: int | None = None
    handoff_at: datetime | None = None
    ai_seconds: float | None = None
    wait_seconds: float | None = None
    repeated: bool = False
    repeat_evidence: list[dict[str, Any]] = field(default_factory=list)
    cold_greeting: bool = False
    repurchased_60d: bool | None = None
    cancelled_60d: bool | None = None


def classify(
    history: ContactHistory,
    *,
    later: Sequence[LaterContact] = (),
    now: datetime,
    activity: StoreActivity | None = None,
) -> ContactFacts:
    """The contact's facts as of `now`. `later` are the same customer's other conversations
    (those that started after this one ended count); `activity` their store behaviour, for the
    churn flags (null without it, or before 60 days have passed)."""
    raise NotImplementedError
