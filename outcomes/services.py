"""The only writer of Contact and DirtyDay rows: classify what changed, upsert, mark the days
whose rollups are stale (docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from outcomes.classify import ContactFacts
from outcomes.models import Contact


def days_dirty_mark(days: Iterable[date]) -> None:
    """The rollups of these days are stale (rollups_refresh rebuilds them)."""
    raise NotImplementedError


def contacts_save(facts: list[tuple[int, ContactFacts]]) -> None:
    """Upsert the contacts of these conversations (conversation id, facts) in bulk, and mark
    the ended days, old and new, dirty."""
    raise NotImplementedError


def contact_refresh(*, conversation_id: int) -> Contact:
    """Classify the conversation as of now and store its contact. A new contact also refreshes
    the recurrence of the same customer's earlier contacts."""
    raise NotImplementedError


def contacts_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """End contacts idle 72 h, fill the 60-day churn flags once due, catch up conversations
    without a contact. Safe to run at any time, twice."""
    raise NotImplementedError
