"""The case timeline in words: who did what, and why for the automatic steps; the SLA breach
recorded once; a supervisor's transfer read as a transfer. And the desk's own people are not
entities of the case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conversations.models import Integration
from escalation.analysis import Turn
from escalation.cases.lifecycle import case_transfer, cases_sweep
from escalation.cases.routing import cases_auto_assign
from escalation.engine import engine_run
from escalation.models import AgentProfile, Case
from tests.factories import AgentProfileFactory, CaseFactory


@pytest.fixture
def bot(integration: tuple[Integration, str]) -> Integration:
    return integration[0]


def lines(case: Case) -> list[str]:
    return [t.line for t in case.timeline.select_related("actor").order_by("at", "id")]


def _miss_deadline(case: Case) -> None:
    past = timezone.now() - timedelta(minutes=1)
    Case.objects.filter(pk=case.pk).update(sla_due_at=past, assigned_at=past - timedelta(minutes=5))


def test_automatic_steps_say_who_and_why(bot: Integration) -> None:
    AgentProfileFactory(user__username="leo", online=True)
    case = CaseFactory(conversation__integration=bot)
    assert cases_auto_assign() == 1
    _miss_deadline(case)
    AgentProfileFactory(user__username="maya", online=True)

    cases_sweep()
    cases_sweep()  # the breach is recorded once

    assert lines(case) == [
        "Auto-assigned to Leo",
        "SLA breached: no first reply by the deadline (Leo held the case)",
        "Re-queued: Leo missed the first-reply deadline",
        "Auto-assigned to Maya",
    ]


def test_a_case_breaching_in_the_queue_says_so_once(bot: Integration) -> None:
    case = CaseFactory(conversation__integration=bot)
    Case.objects.filter(pk=case.pk).update(sla_due_at=timezone.now() - timedelta(seconds=5))

    assert cases_sweep()["breached"] == 1
    assert cases_sweep()["breached"] == 0
    assert lines(case) == [
        "SLA breached: no first reply by the deadline (the case was waiting in the queue)"
    ]


def test_a_supervisors_transfer_reads_as_a_transfer(bot: Integration) -> None:
    rita = AgentProfileFactory(user__username="rita", role=AgentProfile.Role.SUPERVISOR).user
    leo = AgentProfileFactory(user__username="leo", online=True).user
    case = CaseFactory(conversation__integration=bot)
    assert cases_auto_assign() == 1
    maya = AgentProfileFactory(user__username="maya", online=True).user

    case_transfer(case_id=case.pk, user=rita, note="She knows the customer", agent_id=maya.pk)

    case.refresh_from_db()
    assert case.assignee == maya != leo
    assert lines(case)[-2:] == [
        "Rita transferred the case from Leo to Maya: She knows the customer",
        "Assigned to Maya by Rita's transfer",
    ]


def test_the_case_page_shows_the_timeline_in_words(bot: Integration) -> None:
    leo = AgentProfileFactory(user__username="leo", online=True).user
    case = CaseFactory(conversation__integration=bot)
    assert cases_auto_assign() == 1
    client = Client()
    client.force_login(leo)

    html = client.get(reverse("desk:case", kwargs={"case_id": case.pk})).content.decode()

    assert "Auto-assigned to Leo" in html
    assert "Leo greeted the customer" in html


@pytest.mark.django_db
def test_the_agents_own_name_is_not_an_entity() -> None:
    turns = [
        Turn(role="customer", text="Hi, my name is Dana Reyes and my parcel is late.", seq=1),
        Turn(
            role="agent",
            text="Hi Dana, I'm Maya Okafor from the support team, taking over from Leo Brandt.",
            seq=2,
        ),
    ]
    names = [
        e.value
        for e in engine_run(turns=turns, rules=[], link=False).entities
        if e.type == "person_name"
    ]
    assert "Dana Reyes" in names
    assert not any("Maya" in n or "Leo" in n for n in names)
