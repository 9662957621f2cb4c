"""The case lifecycle across cases of one conversation and one customer: a hand-back that
sticks, closing pleasantries after a resolve, a new request that goes back to the agent who
resolved the last case, and the customer's cases linked and merged."""

from __future__ import annotations

from typing import Any

import pytest

from conversations.models import Conversation, Event, Integration
from conversations.services import events_ingest
from escalation.cases.lifecycle import case_resolve
from escalation.cases.routing import case_pick, case_priority
from escalation.cases.work import case_opened, case_reply
from escalation.models import AgentProfile, Case, CaseEvent, HandoffPacket, Rule
from tests.escalation.conftest import say
from tests.factories import AgentProfileFactory, CaseFactory


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


# --- #9 after a person resolved a case --------------------------------------------------------


def _resolved_by(
    bot: Integration, external_id: str, agent: Any, capture: Any, *, priority: int = 100
) -> Case:
    """A conversation whose case `agent` took, answered and resolved (not handed back)."""
    with capture(execute=True):
        ingest(bot, say(external_id, 1, "Where is order #W2378156? Let me talk to a real person."))
    (case,) = cases_of(external_id)
    assert case.assignee == agent  # auto-assigned
    with capture(execute=True):
        case_opened(case=case, user=agent)
        case_reply(case_id=case.pk, user=agent, text="It is on its way, arriving tomorrow.")
        Case.objects.filter(pk=case.pk).update(priority=priority)
        case_resolve(case_id=case.pk, user=agent, outcome=Case.Outcome.RESOLVED)
    case.refresh_from_db()
    return case


def test_a_thank_you_after_a_resolve_joins_the_resolved_case_without_a_new_one(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    leo = AgentProfileFactory(user__username="leo", online=True).user
    case = _resolved_by(bot, "ty", leo, django_capture_on_commit_callbacks)
    last_seq = Conversation.objects.get(external_id="ty").last_seq

    with django_capture_on_commit_callbacks(execute=True):
        ingest(bot, say("ty", last_seq + 1, "Appreciate it. Finally a real answer."))
    with django_capture_on_commit_callbacks(execute=True):
        ingest(bot, say("ty", last_seq + 2, "thanks!"))

    assert cases_of("ty") == [case]
    closing = list(case.timeline.filter(kind=CaseEvent.Kind.CLOSING_MESSAGE))
    assert [c.data["text"] for c in closing] == ["Appreciate it. Finally a real answer.", "thanks!"]
    # Nobody introduced themselves afresh.
    agent_messages = Event.objects.filter(conversation=case.conversation, role="agent")
    assert agent_messages.count() == 2  # the greeting and the reply


def test_a_new_request_after_a_resolve_goes_back_to_the_resolver_at_the_rules_priority(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    leo = AgentProfileFactory(user__username="leo", online=True).user
    last = _resolved_by(bot, "nr", leo, django_capture_on_commit_callbacks)
    # Maya holds nothing, Leo holds another case: by load alone Maya would get it.
    maya = AgentProfileFactory(user__username="maya", online=True).user
    CaseFactory(status=Case.Status.ASSIGNED, assignee=leo, risk=0.9)
    last_seq = Conversation.objects.get(external_id="nr").last_seq

    with django_capture_on_commit_callbacks(execute=True):
        ingest(bot, say("nr", last_seq + 1, "Thanks. Also, can I change the address on it?"))

    first, second = cases_of("nr")
    assert first == last
    assert (second.trigger, second.follows) == (Case.Trigger.RETURNED, last)
    assert second.assignee == leo != maya
    # No rule fired on the new message: a handoff's base, raised by its risk, not P100.
    assert second.priority == case_priority(base=50, risk=second.risk, customer_value=0)
    assert second.priority < 100
    # Leo, whom the customer knows, does not introduce himself again on opening it.
    assert case_opened(case=second, user=leo) is None
    packet = HandoffPacket.objects.get(case=second).data
    assert packet["summary"]["customer_wants"] == "Also, can I change the address on it?"


def test_a_new_request_goes_to_someone_else_when_the_resolver_is_away(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    leo = AgentProfileFactory(user__username="leo", online=True).user
    _resolved_by(bot, "away", leo, django_capture_on_commit_callbacks)
    AgentProfile.objects.filter(user=leo).update(presence=AgentProfile.Presence.AWAY)
    maya = AgentProfileFactory(user__username="maya", online=True).user
    last_seq = Conversation.objects.get(external_id="away").last_seq

    with django_capture_on_commit_callbacks(execute=True):
        ingest(bot, say("away", last_seq + 1, "I want to speak to a person about a refund now."))

    _, second = cases_of("away")
    assert second.assignee == maya
    assert second.rule.code == "customer-asks-for-person"
    assert second.priority >= 80  # the rule's priority, raised by risk
    with django_capture_on_commit_callbacks(execute=True):
        greeting = case_opened(case=second, user=maya)
    assert "taking over from Leo" in greeting.text
