"""The case lifecycle across cases of one conversation and one customer: a hand-back that
sticks, closing pleasantries after a resolve, a new request that goes back to the agent who
resolved the last case, and the customer's cases linked and merged."""

from __future__ import annotations

from typing import Any

import pytest

from conversations.models import Conversation, Integration
from conversations.services import events_ingest
from escalation.cases.lifecycle import case_resolve
from escalation.cases.routing import case_pick
from escalation.models import Case, HandoffPacket, Rule
from tests.escalation.conftest import say
from tests.factories import AgentProfileFactory


@pytest.fixture
def bot(integration: tuple[Integration, str], rules: list[Rule]) -> Integration:
    return integration[0]


def ingest(integration: Integration, *events: dict[str, Any]) -> None:
    results = events_ingest(integration=integration, raw_events=list(events))
    assert [r.type for r in results] == ["ack"] * len(events), results


def cases_of(external_id: str) -> list[Case]:
    return list(Case.objects.filter(conversation__external_id=external_id).order_by("id"))


# --- #1 a hand-back sticks -------------------------------------------------------------------


def test_a_hand_back_is_not_undone_by_the_signals_that_opened_the_case(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    maya = AgentProfileFactory(user__username="maya").user
    with django_capture_on_commit_callbacks(execute=True):
        ingest(bot, say("hb", 1, "This is useless, let me talk to a real person please."))
    (case,) = cases_of("hb")
    assert case.reason == "customer-asks-for-person"
    with django_capture_on_commit_callbacks(execute=True):
        case_pick(case_id=case.pk, user=maya)
    with django_capture_on_commit_callbacks(execute=True):
        case_resolve(case_id=case.pk, user=maya, outcome=Case.Outcome.HANDED_BACK, note="Done.")

    # The AI takes over again and the customer carries on about something else: the old ask
    # for a person is no reason to take the conversation back.
    with django_capture_on_commit_callbacks(execute=True):
        ingest(
            bot,
            say("hb", 3, "Welcome back! Anything else I can help with?", role="ai"),
            say("hb", 4, "What are your opening hours?"),
        )
    assert cases_of("hb") == [case]
    assert Conversation.objects.get(external_id="hb").owner == Conversation.Owner.AI


def test_a_new_reason_after_a_hand_back_opens_a_case_with_a_fresh_packet(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    maya = AgentProfileFactory(user__username="maya").user
    with django_capture_on_commit_callbacks(execute=True):
        ingest(bot, say("hb2", 1, "My order #W2378156 is late, get me a real person now."))
    (first,) = cases_of("hb2")
    with django_capture_on_commit_callbacks(execute=True):
        case_pick(case_id=first.pk, user=maya)
    with django_capture_on_commit_callbacks(execute=True):
        case_resolve(case_id=first.pk, user=maya, outcome=Case.Outcome.HANDED_BACK)

    with django_capture_on_commit_callbacks(execute=True):
        ingest(
            bot, say("hb2", 3, "I would like to cancel my subscription. Let me speak to an agent.")
        )
    first_again, second = cases_of("hb2")
    assert first_again == first
    assert second.reason == "customer-asks-for-person"
    assert [s["seq"] for s in second.evidence["signals"]] == [3]
    packet = HandoffPacket.objects.get(case=second).data
    assert packet["summary"]["customer_wants"].startswith("I would like to cancel")
    assert "W2378156" not in packet["summary"]["text"]
    assert all(e["seq"] == 3 for e in packet["evidence"])
