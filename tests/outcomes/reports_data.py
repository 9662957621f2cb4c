"""Contact rows with known values, for the reports' tests (the classify part is what writes
them in the running system; these tests fix the figures' arithmetic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from outcomes.models import Contact, HumanEnd, Outcome, Path
from tests.factories import ConversationFactory

DAY = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # a Monday


def contact(*, ended: datetime = DAY, **fields: Any) -> Contact:
    """A contact that ended at `ended`; ai_only and AI-resolved unless told otherwise."""
    fields.setdefault("path", Path.AI_ONLY)
    fields.setdefault(
        "outcome", Outcome.AI_RESOLVED if fields["path"] == Path.AI_ONLY else Outcome.ESCALATED
    )
    if fields["outcome"] == Outcome.ESCALATED:
        fields.setdefault("human_end", HumanEnd.RESOLVED)
    fields.setdefault(
        "resolved",
        fields["outcome"] == Outcome.AI_RESOLVED or fields.get("human_end") == HumanEnd.RESOLVED,
    )
    fields.setdefault("topic", "shipping")
    return Contact.objects.create(
        conversation=ConversationFactory(),
        started_at=ended - timedelta(minutes=20),
        ended_at=ended,
        ended_by="close",
        **fields,
    )
