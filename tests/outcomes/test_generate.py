"""generate_history: seeded, realistic history whose contacts come out of the same classify()
as live ones."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from conversations.models import Conversation, CustomerRef, Event
from conversations.schemas import event_parse
from escalation.models import Case, CaseEvent, HandoffPacket
from outcomes.generate import HISTORY_INTEGRATION, HistoryExists, history_generate
from outcomes.generate_story import TOPICS, Customer, Topic, contact_play, customer_new
from outcomes.history import history_load
from outcomes.models import Contact, OutcomeDay
from outcomes.services import contact_refresh
from store.models import Customer as StoreCustomer
from store.models import Order, Subscription

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def _signature() -> list[tuple]:
    rows = Contact.objects.values_list(
        "started_at", "topic", "path", "outcome", "human_end", "rating", "rating_ai", "repeated"
    )
    return sorted(rows, key=lambda row: (row[0], row[1]))


def _wipe() -> None:
    Conversation.objects.filter(integration__name=HISTORY_INTEGRATION).delete()
    CustomerRef.objects.filter(integration__name=HISTORY_INTEGRATION).delete()
    Order.objects.filter(customer__customer_id__startswith="hist_").delete()
    StoreCustomer.objects.filter(customer_id__startswith="hist_").delete()


def test_the_same_seed_writes_the_same_history() -> None:
    history_generate(conversations=300, days=60, seed=5, now=NOW)
    first = _signature()
    _wipe()
    history_generate(conversations=300, days=60, seed=5, now=NOW)
    assert _signature() == first
    _wipe()
    history_generate(conversations=300, days=60, seed=6, now=NOW)
    assert _signature() != first


def test_the_story_alone_is_deterministic() -> None:
    def played(seed: int) -> list[tuple]:
        rng = random.Random(seed)
        contacts = []
        for index in range(50):
            customer: Customer = customer_new(rng, index)
            contact = contact_play(
                rng,
                customer=customer,
                started=NOW - timedelta(days=index),
                topic=_topic(index),
                agents=12,
            )
            contacts.append((contact.path, contact.close, contact.experience, contact.ratings))
        return contacts

    assert played(1) == played(1)


def _topic(index: int) -> Topic:
    return TOPICS[index % len(TOPICS)]


def test_refuses_a_second_run_unless_appending() -> None:
    history_generate(conversations=60, days=30, seed=1, now=NOW)
    with pytest.raises(HistoryExists):
        history_generate(conversations=60, days=30, seed=1, now=NOW)
    with pytest.raises(CommandError, match="--append"):
        call_command("generate_history", conversations=10, days=30, verbosity=0)
    history_generate(conversations=60, days=30, seed=1, now=NOW, append=True)
    assert Contact.objects.count() == Conversation.objects.count() == 120


def test_distributions_are_plausible() -> None:
    counts = history_generate(conversations=1500, days=120, seed=12, now=NOW)
    assert counts.conversations == Conversation.objects.count() == Contact.objects.count()
    contacts = Contact.objects.all()
    paths = Counter(contacts.values_list("path", flat=True))
    assert paths["ai_only"] > paths["ai_then_human"] > paths["human_direct"] > 0
    assert 0.55 < paths["ai_only"] / counts.conversations < 0.85
    outcomes = Counter(contacts.values_list("outcome", flat=True))
    assert set(outcomes) == {"ai_resolved", "deflected", "abandoned", "escalated"}
    assert contacts.filter(outcome="ai_resolved", confirmed=True).exists()
    assert contacts.filter(outcome="ai_resolved", confirmed=False).exists()
    assert contacts.filter(abandoned_in_queue=True).exists()
    ends = Counter(contacts.filter(outcome="escalated").values_list("human_end", flat=True))
    assert {"resolved", "follow_up", "handed_back"} <= set(ends)
    # Customers come back: within 7 days on the same topic, within 30 on another.
    assert contacts.filter(recurred_7d_same=True).exists()
    assert contacts.filter(recurred_30d_any=True, recurred_30d_same=False).exists()
    assert contacts.filter(customer_key__startswith="email:").exists()
    assert contacts.filter(customer_key__startswith="ext:").exists()
    # About a third answer the survey; escalated contacts rate both parts.
    rated = contacts.filter(path="ai_only").exclude(rating=None, rating_ai=None).count()
    assert 0.2 < rated / paths["ai_only"] < 0.45
    assert (
        contacts.filter(path="ai_then_human")
        .exclude(rating_ai=None)
        .exclude(rating_human=None)
        .exists()
    )
    # The handoff factors all occur.
    assert contacts.filter(repeated=True).exists()
    assert contacts.filter(cold_greeting=True).exists()
    assert contacts.filter(wait_seconds__gt=300).exists()
    # Store behaviour after the contacts, and the churn flags once 60 days have passed.
    assert contacts.filter(repurchased_60d=True).exists()
    assert contacts.filter(cancelled_60d=True).exists()
    assert (
        not contacts.filter(ended_at__gt=NOW - timedelta(days=60))
        .exclude(repurchased_60d=None)
        .exists()
    )
    assert Subscription.objects.exclude(ended_at=None).exists()
    assert StoreCustomer.objects.values("tier").distinct().count() == 3
    assert OutcomeDay.objects.exists()
    assert Contact.objects.filter(ended_at__gte=NOW).count() == 0


def test_events_are_protocol_events_and_cases_have_timelines() -> None:
    history_generate(conversations=200, days=30, seed=3, now=NOW)
    events = Event.objects.exclude(event_id__startswith="desk-")
    assert {"message", "ai_signal", "tool_call", "handoff", "close", "feedback"} <= set(
        events.values_list("type", flat=True)
    )
    for event in events.order_by("?")[:300]:
        parsed = event_parse(event.payload)
        assert parsed.seq == event.seq and parsed.type == event.type
    feedback = events.filter(type="feedback").first()
    assert feedback is not None and feedback.payload["part"] in ("ai", "human", "overall")
    desk = Event.objects.filter(event_id__startswith="desk-").first()
    assert desk is not None and desk.role == "agent" and desk.payload["agent"]
    assert not Case.objects.exclude(status=Case.Status.RESOLVED).exists()
    assert HandoffPacket.objects.count() == Case.objects.count()
    for case in Case.objects.all()[:30]:
        kinds = list(case.timeline.values_list("kind", flat=True))
        assert kinds[0] == CaseEvent.Kind.QUEUED and kinds[-1] == CaseEvent.Kind.RESOLVED


def test_contacts_are_what_classify_decides_from_the_record() -> None:
    """The in-memory histories the generator classifies are the record's: reloading each
    conversation and classifying it again changes no contact."""
    history_generate(conversations=250, days=90, seed=8, now=NOW)
    fields = [
        "path",
        "outcome",
        "confirmed",
        "abandoned_in_queue",
        "human_end",
        "fcr",
        "recurred_7d_same",
        "recurred_30d_any",
        "rating",
        "rating_ai",
        "rating_human",
        "wait_seconds",
        "repeated",
        "cold_greeting",
        "customer_key",
        "tier",
        "repurchased_60d",
        "cancelled_60d",
    ]
    before = {
        row["conversation_id"]: row for row in Contact.objects.values("conversation_id", *fields)
    }
    escalated = Contact.objects.exclude(path="ai_only").values_list("conversation_id", flat=True)
    sample = list(escalated[:40]) + list(
        Contact.objects.filter(path="ai_only").values_list("conversation_id", flat=True)[:40]
    )
    for conversation_id in sample:
        assert history_load(conversation_id=conversation_id).conversation_id == conversation_id
        contact_refresh(conversation_id=conversation_id, now=NOW, earlier=False)
    after = {
        row["conversation_id"]: row
        for row in Contact.objects.filter(conversation_id__in=sample).values(
            "conversation_id", *fields
        )
    }
    for conversation_id in sample:
        assert after[conversation_id] == before[conversation_id], conversation_id


def test_the_command_shows_progress_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("generate_history", conversations=50, days=20, seed=2)
    out = capsys.readouterr()
    assert "Generated 50 conversations" in out.out
    assert "conv" in out.err
