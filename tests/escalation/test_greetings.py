"""The customer's greeting: sent when the agent who holds the case opens or takes it (never on
assignment), once per case and agent, honest about a change of hands and about who the agent
is; the suggested reply and the canned "Greeting" do not say it again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from conversations.models import Event, Integration
from desk.models import Macro
from escalation.cases.lifecycle import case_transfer, cases_sweep
from escalation.cases.routing import case_pick, cases_auto_assign
from escalation.cases.work import case_opened
from escalation.models import AgentProfile, Case, CaseEvent
from tests.conftest import Desk
from tests.factories import AgentProfileFactory, CaseFactory, TeamFactory


@pytest.fixture
def bot(integration: tuple[Integration, str]) -> Integration:
    return integration[0]


def greetings(case: Case) -> list[Event]:
    return list(Event.objects.filter(conversation=case.conversation, role="agent").order_by("seq"))


def test_auto_assignment_greets_nobody_and_opening_the_case_greets_once(bot: Integration) -> None:
    leo = AgentProfileFactory(user__username="leo", online=True).user
    rita = AgentProfileFactory(user__username="rita", role=AgentProfile.Role.SUPERVISOR).user
    case = CaseFactory(conversation__integration=bot, conversation__customer_name="Dana Reyes")

    assert cases_auto_assign() == 1
    case.refresh_from_db()
    assert case.assignee == leo
    assert greetings(case) == []  # assigned is not looked at

    assert case_opened(case=case, user=rita) is None  # a supervisor watching greets nobody
    greeting = case_opened(case=case, user=leo)
    assert greeting is not None
    assert greeting.text.startswith("Hi Dana, I'm Leo from the support team.")
    assert "specialist" not in greeting.text
    assert case_opened(case=case, user=leo) is None  # a reload says nothing more
    assert greetings(case) == [greeting]
    greeted = case.timeline.get(kind=CaseEvent.Kind.GREETED)
    assert (greeted.actor, greeted.data["event"]) == (leo, greeting.pk)


def test_a_case_that_changes_hands_after_a_greeting_says_who_takes_over(bot: Integration) -> None:
    """Leo greets, then misses the deadline; Maya gets the case: the customer is told she takes
    over from Leo, not greeted afresh as if nobody had been there."""
    leo = AgentProfileFactory(user__username="leo", online=True).user
    case = CaseFactory(conversation__integration=bot, conversation__customer_name="Dana Reyes")
    assert cases_auto_assign() == 1
    case.refresh_from_db()
    case_opened(case=case, user=leo)
    past = timezone.now() - timedelta(minutes=1)
    Case.objects.filter(pk=case.pk).update(sla_due_at=past, assigned_at=past - timedelta(minutes=5))
    maya = AgentProfileFactory(user__username="maya", online=True).user

    assert cases_sweep()["assigned"] == 1
    case.refresh_from_db()
    assert case.assignee == maya
    assert len(greetings(case)) == 1  # not on assignment
    handover = case_opened(case=case, user=maya)

    assert handover is not None
    assert handover.text.startswith(
        "Hi Dana, I'm Maya from the support team, taking over from Leo."
    )
    assert [g.payload["agent"] for g in greetings(case)] == ["Leo", "Maya"]


def test_an_agent_who_never_greeted_is_not_named_to_the_customer(bot: Integration) -> None:
    AgentProfileFactory(user__username="leo", online=True)
    case = CaseFactory(conversation__integration=bot)
    assert cases_auto_assign() == 1
    Case.objects.filter(pk=case.pk).update(status=Case.Status.QUEUED, assignee=None)
    maya = AgentProfileFactory(user__username="maya").user

    case_pick(case_id=case.pk, user=maya)  # taking a case greets at once

    (greeting,) = greetings(case)
    assert "taking over" not in greeting.text and "Leo" not in greeting.text
    assert greeting.text.startswith("Hi there, I'm Maya")


def test_the_greeting_names_the_team_or_the_supervisor_never_a_made_up_title(
    bot: Integration,
) -> None:
    TeamFactory(slug="specialists", name="Specialists")
    maya = AgentProfileFactory(user__username="maya", teams=["specialists"]).user
    rita = AgentProfileFactory(user__username="rita", role=AgentProfile.Role.SUPERVISOR).user
    special = CaseFactory(conversation__integration=bot, team="specialists")
    general = CaseFactory(conversation__integration=bot)

    case_pick(case_id=special.pk, user=maya)
    case_pick(case_id=general.pk, user=rita)

    assert "I'm Maya from the specialists team." in greetings(special)[0].text
    assert "I'm Rita, a support supervisor." in greetings(general)[0].text


def test_a_transfer_to_an_agent_greets_when_they_open_it(bot: Integration) -> None:
    rita = AgentProfileFactory(user__username="rita", role=AgentProfile.Role.SUPERVISOR).user
    leo = AgentProfileFactory(user__username="leo", online=True).user
    case = CaseFactory(conversation__integration=bot)
    case_pick(case_id=case.pk, user=rita)

    case_transfer(case_id=case.pk, user=rita, note="Yours", agent_id=leo.pk)
    assert len(greetings(case)) == 1
    case.refresh_from_db()
    case_opened(case=case, user=leo)

    assert "I'm Leo from the support team, taking over from Rita." in greetings(case)[1].text


def test_greetings_switched_off_send_nothing(bot: Integration, settings: Any) -> None:
    settings.BATON_WARM_GREETING = ""
    maya = AgentProfileFactory(user__username="maya").user
    case = CaseFactory(conversation__integration=bot)
    case_pick(case_id=case.pk, user=maya)
    assert greetings(case) == []
    assert not case.timeline.filter(kind=CaseEvent.Kind.GREETED).exists()


def test_the_case_page_greets_for_its_holder_and_drops_the_canned_greeting(desk: Desk) -> None:
    Macro.objects.create(name="Greeting", body="Hi {customer_first_name}, I'm {agent_name}.")
    Macro.objects.create(name="Closing", body="Anything else, {customer_first_name}?")
    html = desk.client.get(desk.url("case")).content.decode()
    assert "Take this case to reply" in html  # a queued case has no reply box, no macros
    assert greetings(desk.case) == []  # and opening it greets nobody

    Case.objects.filter(pk=desk.case.pk).update(status=Case.Status.ASSIGNED, assignee=desk.maya)
    html = desk.client.get(desk.url("case")).content.decode()

    (greeting,) = greetings(desk.case)
    assert greeting.payload["agent"] == "Maya"
    assert "Anything else" in html
    assert "I&#x27;m Maya." not in html and "I'm Maya." not in html
    desk.client.get(desk.url("case"))
    assert len(greetings(desk.case)) == 1
