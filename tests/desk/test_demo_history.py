"""The demo's 30 days of seeded history: spread over the days, AI-only and escalated, every
case resolved with a plausible timeline, the hard kinds with the people who may take them,
and the same every time."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from django.db.models import F

from conversations.models import Conversation, CustomerRef, Integration
from desk.demo import demo_people_ensure
from desk.demo_history import HISTORY_INTEGRATION, demo_history_counts, demo_history_seed
from desk.demo_pace import demo_summary
from desk.demo_staff import demo_staff_ensure
from escalation.models import Case, CaseEvent, ConversationState, PresenceChange
from escalation.workload.intensity import team_intensification
from tests.factories import CaseFactory

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


@pytest.fixture
def people(db: None) -> None:
    demo_people_ensure()
    demo_staff_ensure()


def _signature() -> list[tuple]:
    return list(
        Case.objects.order_by("conversation__external_id").values_list(
            "conversation__external_id", "assignee__username", "topic", "queued_at", "resolved_at"
        )
    )


def test_history_spreads_over_thirty_days_before_today(people: None) -> None:
    counts = demo_history_seed(days=30, per_day=12, now=NOW)

    conversations = Conversation.objects.filter(integration__name=HISTORY_INTEGRATION)
    days = Counter(c.date() for c in conversations.values_list("created_at", flat=True))
    assert len(days) == 30 == counts.days
    assert max(days) < NOW.date() and (NOW.date() - min(days)).days == 30
    # Weekdays are busier than weekends.
    weekday = [n for d, n in days.items() if d.weekday() < 5]
    weekend = [n for d, n in days.items() if d.weekday() >= 5]
    assert sum(weekday) / len(weekday) > sum(weekend) / len(weekend)
    assert counts.conversations == conversations.count()
    # AI-only and escalated both: about half reach a person.
    escalated = conversations.filter(cases__isnull=False).distinct().count()
    assert counts.cases == Case.objects.count()
    assert 0.3 < escalated / counts.conversations < 0.7
    assert ConversationState.objects.count() == counts.conversations
    assert not conversations.exclude(status=Conversation.Status.CLOSED).exists()


def test_every_past_case_is_resolved_with_a_timeline_in_order(people: None) -> None:
    demo_history_seed(days=30, per_day=12, now=NOW)

    cases = Case.objects.all()
    assert not cases.exclude(status=Case.Status.RESOLVED).exists()
    assert not cases.filter(assigned_at__lt=F("queued_at")).exists()
    assert not cases.filter(first_response_at__lt=F("assigned_at")).exists()
    assert not cases.filter(resolved_at__lte=F("first_response_at")).exists()
    assert set(cases.values_list("outcome", flat=True)) <= set(Case.Outcome.values)
    events = CaseEvent.objects.all()
    assert events.filter(at__gte=NOW.replace(hour=0, minute=0)).count() == 0
    case = cases.first()
    steps = list(case.timeline.order_by("at", "id").values_list("kind", flat=True))
    assert steps[:3] == ["queued", "assigned", "greeted"] and steps[-1] == "resolved"
    assert "first_response" in steps and "reply" in steps
    # Agents' replies are in the transcript, after the customer's words.
    assert case.conversation.events.filter(role="agent").count() == steps.count("reply")


def test_hard_kinds_go_to_who_may_take_them_and_everyone_has_a_month(people: None) -> None:
    demo_history_seed(days=30, per_day=12, now=NOW)

    bereavement = Case.objects.filter(topic="bereavement")
    assert bereavement.exists()
    assert set(bereavement.values_list("team", flat=True)) == {"specialists"}
    holders = set(bereavement.values_list("assignee__username", flat=True))
    assert holders <= {"priya", "elif", "maya"}
    injection = Case.objects.filter(reason="prompt-injection")
    assert set(injection.values_list("assignee__username", flat=True)) <= {"kwame", "sam"}
    # Each agent has a month of cases behind their 30-day medians, and shifts with a break.
    per_agent = Counter(Case.objects.values_list("assignee__username", flat=True))
    assert len(per_agent) == 10 and min(per_agent.values()) >= 5
    assert PresenceChange.objects.filter(presence="away", reason="Lunch").exists()
    # Priya (a specialist only) has hard cases only.
    priya = Case.objects.filter(assignee__username="priya")
    assert set(priya.values_list("team", flat=True)) == {"specialists"}


def test_the_board_reads_the_history_as_harder_work_for_people(people: None) -> None:
    demo_history_seed(days=30, per_day=12, now=NOW)

    # Difficulty by the board's own measure: the angry and sensitive contacts are hard.
    hard = Case.objects.filter(reason__in=["high-risk", "sensitive-topic"])
    assert hard.filter(difficulty__gte=0.6).count() >= 0.9 * hard.count() > 0
    assert Case.objects.filter(reason="customer_request", difficulty__lt=0.3).exists()
    trend = team_intensification(now=NOW, days=30)
    # The window's 30th day is today, which has no history; a quiet weekend day may have
    # had nobody escalated.
    assert len([point for point in trend.daily if point.contacts]) == 29
    days = [point for point in trend.daily if point.human_contacts]
    assert len(days) >= 25 and all(point.ratio > 1 for point in days)


def test_history_is_deterministic_seeded_once_and_not_counted_as_live(people: None) -> None:
    first = demo_history_seed(days=30, per_day=8, now=NOW)
    signature = _signature()
    again = demo_history_seed(days=30, per_day=8, now=NOW)
    assert again.conversations == first.conversations and not again.seeded_now
    assert demo_history_counts() is not None

    Conversation.objects.filter(integration__name=HISTORY_INTEGRATION).delete()
    CustomerRef.objects.filter(integration__name=HISTORY_INTEGRATION).delete()
    Integration.objects.filter(name=HISTORY_INTEGRATION).delete()
    PresenceChange.objects.all().delete()
    demo_history_seed(days=30, per_day=8, now=NOW)
    assert _signature() == signature

    CaseFactory()
    summary = demo_summary()
    assert (summary.conversations, summary.handoffs) == (1, 1)
