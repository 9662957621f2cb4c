"""Contacts from the record: real ingest and case work end in the right Contact rows; the
sweep ends idle contacts and fills the churn flags; saving marks the rollups' days dirty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from conversations.models import Conversation, Integration
from conversations.services import events_ingest
from escalation.cases.lifecycle import case_resolve
from escalation.cases.routing import case_pick
from escalation.cases.work import case_reply
from escalation.models import Case
from outcomes.history import history_load
from outcomes.models import Contact, DirtyDay
from outcomes.services import contact_refresh, contacts_save, contacts_sweep, days_dirty_mark
from outcomes.tasks import refresh_contacts
from tests.conftest import event
from tests.escalation.conftest import rules  # noqa: F401  (the default rules)
from tests.factories import AgentProfileFactory, CustomerFactory, OrderFactory

ANSWER = "Your order #W1234567 shipped on Monday with UPS and should arrive by Friday."


pytestmark = pytest.mark.usefixtures("rules")


@pytest.fixture
def bot(integration: tuple[Integration, str]) -> Integration:
    return integration[0]


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Chat:
    """One conversation sent through events_ingest, on-commit work run as in production."""

    def __init__(self, bot: Integration, name: str, capture: Any, **customer: str) -> None:
        self.bot, self.name, self.capture, self.seq = bot, name, capture, 0
        self.customer = customer or {"external_id": f"ext-{name}"}

    def send(self, type_: str = "message", when: datetime | None = None, **fields: Any) -> None:
        self.seq += 1
        raw = event(
            f"{self.name}-{self.seq}",
            self.name,
            self.seq,
            type=type_,
            at=stamp(when or timezone.now()),
            customer=self.customer,
            **fields,
        )
        for key in ("role", "text"):
            if type_ != "message" and key not in fields:
                raw.pop(key)
        with self.capture(execute=True):
            results = events_ingest(integration=self.bot, raw_events=[raw])
        assert results[0].type == "ack", results

    def conversation(self) -> Conversation:
        return Conversation.objects.get(external_id=self.name)


def test_a_closed_conversation_gets_its_contact_through_ingest(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    chat = Chat(bot, "c1", django_capture_on_commit_callbacks, email="Ana@Example.com")
    chat.send(role="customer", text="Where is my order #W1234567?")
    contact = Contact.objects.get(conversation=chat.conversation())
    assert contact.ended_at is None and contact.path == ""
    chat.send(role="ai", text=ANSWER)
    chat.send("ai_signal", topic="order_status")
    chat.send(role="customer", text="Thanks, that helps!")
    chat.send("close", outcome="resolved")
    contact.refresh_from_db()
    assert (contact.path, contact.outcome, contact.confirmed, contact.ended_by) == (
        "ai_only",
        "ai_resolved",
        True,
        "close",
    )
    # Known only by their email (no store customer has it): the email is who they are.
    assert contact.customer_key == "email:ana@example.com"
    assert DirtyDay.objects.filter(day=contact.ended_at.date()).exists()
    # A survey answered after the close is taken and lands on the contact.
    chat.send("feedback", rating=5, part="ai")
    contact.refresh_from_db()
    assert contact.rating_ai == 5


def test_an_escalated_conversation_through_the_desk(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    maya = AgentProfileFactory(user__username="maya").user
    chat = Chat(bot, "c2", django_capture_on_commit_callbacks)
    chat.send(role="customer", text="My order #W1234567 never arrived.")
    chat.send(role="ai", text="I'm sorry, let me connect you with a specialist.")
    chat.send("handoff", reason="customer_requested_human")
    (case,) = Case.objects.filter(conversation=chat.conversation())
    with django_capture_on_commit_callbacks(execute=True):
        case_pick(case_id=case.pk, user=maya)
    with django_capture_on_commit_callbacks(execute=True):
        case_reply(case_id=case.pk, user=maya, text="I've resent order #W1234567 today.")
    with django_capture_on_commit_callbacks(execute=True):
        case_resolve(case_id=case.pk, user=maya, outcome=Case.Outcome.RESOLVED)
    # The resolve alone refreshes nothing while the conversation is open...
    contact = Contact.objects.get(conversation=chat.conversation())
    assert contact.path == ""
    chat.send("close", outcome="resolved")
    contact.refresh_from_db()
    assert (contact.path, contact.outcome, contact.human_end) == (
        "ai_then_human",
        "escalated",
        "resolved",
    )
    assert contact.resolved and contact.first_owner and contact.fcr
    assert contact.handoff_at is not None and contact.wait_seconds is not None
    # Baton greeted the customer for Maya: a warm start.
    assert not contact.repeated and not contact.cold_greeting


def test_a_case_resolved_after_the_close_refreshes_the_contact(
    bot: Integration, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    # Greetings off: the person's own first words are what the customer hears first.
    settings.BATON_WARM_GREETING = ""
    maya = AgentProfileFactory(user__username="maya").user
    chat = Chat(bot, "c3", django_capture_on_commit_callbacks)
    chat.send(role="customer", text="I want to speak to a person now")
    chat.send("handoff", reason="customer_requested_human")
    (case,) = Case.objects.filter(conversation=chat.conversation())
    with django_capture_on_commit_callbacks(execute=True):
        case_pick(case_id=case.pk, user=maya)
    with django_capture_on_commit_callbacks(execute=True):
        case_reply(case_id=case.pk, user=maya, text="Hello, how can I help?")
    chat.send("close", outcome="abandoned")
    contact = Contact.objects.get(conversation=chat.conversation())
    assert (contact.path, contact.human_end) == ("human_direct", "unfinished")
    with django_capture_on_commit_callbacks(execute=True):
        case_resolve(case_id=case.pk, user=maya, outcome=Case.Outcome.FOLLOW_UP)
    contact.refresh_from_db()
    assert contact.human_end == "follow_up" and contact.cold_greeting


def test_a_new_conversation_marks_the_earlier_one_as_recurring(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    first = Chat(bot, "r1", django_capture_on_commit_callbacks, external_id="cust-9")
    start = timezone.now() - timedelta(days=3)
    first.send(role="customer", text="Where is my order?", when=start)
    first.send(role="ai", text=ANSWER, when=start)
    first.send("ai_signal", topic="order_status", when=start)
    first.send("close", outcome="resolved", when=start)
    earlier = Contact.objects.get(conversation=first.conversation())
    assert earlier.outcome == "ai_resolved" and not earlier.recurred_7d_same
    second = Chat(bot, "r2", django_capture_on_commit_callbacks, external_id="cust-9")
    second.send(role="customer", text="My order still is not here")
    earlier.refresh_from_db()
    assert earlier.recurred_30d_any and not earlier.recurred_7d_same
    # Its topic is known once the later one is refreshed: at its end at the latest.
    second.send("ai_signal", topic="order_status")
    second.send("close", outcome="resolved")
    earlier.refresh_from_db()
    assert earlier.recurred_7d_same
    assert earlier.outcome == "deflected" and not earlier.fcr
    assert earlier.customer_key == f"ext:{bot.pk}:cust-9"


def test_the_account_wins_over_the_email(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    CustomerFactory(customer_id="ana_lee_1234", email="ana@example.com", tier="gold")
    chat = Chat(bot, "k1", django_capture_on_commit_callbacks, email="ana@example.com")
    chat.send(role="customer", text="hi")
    history = history_load(conversation_id=chat.conversation().pk)
    assert (history.customer_key, history.account_id, history.tier) == (
        "acct:ana_lee_1234",
        "ana_lee_1234",
        "gold",
    )


def test_the_sweep_ends_idle_contacts_and_fills_churn(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    customer = CustomerFactory(customer_id="ana_lee_1234", email="ana@example.com")
    chat = Chat(bot, "s1", django_capture_on_commit_callbacks, email="ana@example.com")
    long_ago = timezone.now() - timedelta(days=70)
    chat.send(role="customer", text="Where is my order?", when=long_ago)
    chat.send(role="ai", text=ANSWER, when=long_ago)
    conversation = chat.conversation()
    Contact.objects.filter(conversation=conversation).update(ended_at=None)
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=long_ago)
    OrderFactory(customer=customer, created_at=long_ago + timedelta(days=20))
    result = contacts_sweep()
    assert result["ended_inactive"] == 1
    contact = Contact.objects.get(conversation=conversation)
    assert (contact.ended_by, contact.outcome) == ("inactive", "ai_resolved")
    assert contact.repurchased_60d is True and contact.cancelled_60d is False
    assert contacts_sweep() == {"ended_inactive": 0, "caught_up": 0, "churn_filled": 0}


def test_a_late_close_moves_the_contact_to_its_day_and_marks_both_days(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    chat = Chat(bot, "l1", django_capture_on_commit_callbacks)
    long_ago = timezone.now() - timedelta(days=5)
    chat.send(role="customer", text="Where is my order?", when=long_ago)
    chat.send(role="ai", text=ANSWER, when=long_ago)
    contact = Contact.objects.get(conversation=chat.conversation())
    assert contact.ended_by == "inactive"
    DirtyDay.objects.all().delete()
    chat.send("close", outcome="resolved")
    contact.refresh_from_db()
    assert contact.ended_by == "close"
    assert set(DirtyDay.objects.values_list("day", flat=True)) == {
        long_ago.astimezone(UTC).date(),
        contact.ended_at.astimezone(UTC).date(),
    }


def test_saving_twice_changes_nothing_and_the_task_runs_twice(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    chat = Chat(bot, "t1", django_capture_on_commit_callbacks)
    chat.send(role="customer", text="hi")
    chat.send("close", outcome="abandoned")
    conversation = chat.conversation()
    refresh_contacts([conversation.pk])
    refresh_contacts([conversation.pk])
    assert Contact.objects.filter(conversation=conversation).count() == 1
    contact = contact_refresh(conversation_id=conversation.pk)
    assert contact.outcome == "abandoned"
    facts = [(conversation.pk, history_facts(conversation.pk))]
    contacts_save(facts)
    contacts_save(facts)
    assert Contact.objects.get(conversation=conversation).outcome == "abandoned"
    days_dirty_mark([])
    days_dirty_mark([contact.ended_at.date(), contact.ended_at.date()])
    assert DirtyDay.objects.filter(day=contact.ended_at.date()).count() == 1


def history_facts(conversation_id: int) -> Any:
    from outcomes.classify import classify

    return classify(history_load(conversation_id=conversation_id), now=timezone.now())
