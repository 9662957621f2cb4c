"""From ingest to the figures: conversations through events_ingest, their contacts written by
the classify part, the days it marks rolled up, and the summary read from the rollups.

Needs outcomes.services (the classify part); skipped on a branch without it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from conversations.models import Integration
from conversations.services import events_ingest
from outcomes.models import DirtyDay
from outcomes.reports import Filters, metrics_summary
from outcomes.sums import reading_contacts
from tests.conftest import event

pytest.importorskip("outcomes.services")
pytestmark = pytest.mark.django_db

ANSWER = "Your order #W1234567 shipped on Monday with UPS and should arrive by Friday."


def _chat(bot: Integration, capture: Any, name: str, turns: list[dict[str, Any]]) -> None:
    at = timezone.now() - timedelta(minutes=10)
    for seq, fields in enumerate(turns, start=1):
        at += timedelta(seconds=30)
        raw = event(
            f"{name}-{seq}",
            name,
            seq,
            at=at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            customer={"external_id": f"ext-{name}"},
            **fields,
        )
        for key in ("role", "text"):
            if raw["type"] != "message" and key not in fields:
                raw.pop(key)
        with capture(execute=True):
            (result,) = events_ingest(integration=bot, raw_events=[raw])
        assert result.type == "ack", result


def test_ingested_conversations_reach_the_rolled_up_summary(
    integration: tuple[Integration, str], django_capture_on_commit_callbacks: Any
) -> None:
    bot = integration[0]
    _chat(
        bot,
        django_capture_on_commit_callbacks,
        "resolved",
        [
            {"role": "customer", "text": "Where is my order #W1234567?"},
            {"role": "ai", "text": ANSWER},
            {"role": "customer", "text": "Thanks, that helps!"},
            {"type": "close", "outcome": "resolved"},
            {"type": "feedback", "rating": 5, "part": "overall"},
        ],
    )
    _chat(
        bot,
        django_capture_on_commit_callbacks,
        "gave-up",
        [
            {"role": "customer", "text": "Can I change the colour of my chair?"},
            {"type": "close", "outcome": "abandoned"},
        ],
    )
    assert DirtyDay.objects.exists()
    out = StringIO()
    call_command("outcomes_sweep", stdout=out)
    assert not DirtyDay.objects.exists()

    today = datetime.now(UTC).date()
    filters = Filters(since=today - timedelta(days=1), until=today)
    summary = metrics_summary(filters)
    with reading_contacts():
        assert summary == metrics_summary(filters)
    assert summary["conversations"] == 2
    assert summary["paths"]["ai_only"] == 2
    assert summary["outcomes"]["abandoned"] == 1
    assert summary["outcomes"]["ai_resolved_confirmed"] == 1
    assert summary["csat"]["ai_only"] == {
        "n": 1,
        "share_4_5": 1.0,
        "mean": 5.0,
        "response_rate": 0.5,
    }
