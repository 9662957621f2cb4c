"""Who may work a case: its agent or a supervisor; transfers go to agents who can take them;
the desk's own state (presence, queue, next case, macros) follows the agent."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from actions.models import DraftedAction
from actions.services import action_draft
from conversations.models import Conversation, Event
from desk.macros import macro_fill
from desk.models import Macro
from escalation.cases.routing import case_pick
from escalation.models import AgentProfile, Case, CaseEvent, Team
from tests.conftest import Desk
from tests.desk.conftest import HTMX, at_desk, fragment
from tests.factories import CaseFactory, agent_user


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("reply", {"text": "Leo here"}),
        ("approve", {}),
        ("reject", {"note": "no"}),
        ("resolve", {"outcome": "handed_back"}),
        ("transfer", {"target": "team:general"}),
    ],
)
def test_a_colleague_cannot_work_a_case_an_agent_holds(
    desk: Desk, name: str, data: dict[str, str]
) -> None:
    desk.client.post(desk.url("take"))
    leo = as_user(desk.leo)

    html = fragment(leo.post(desk.url(name), data, headers=HTMX))

    assert "Maya has this case" in html
    desk.case.refresh_from_db()
    desk.drafted.refresh_from_db()
    assert (desk.case.status, desk.case.assignee) == (Case.Status.ASSIGNED, desk.maya)
    assert desk.drafted.status == DraftedAction.Status.DRAFTED
    assert desk.refunds() == []
    assert not Event.objects.filter(conversation=desk.case.conversation, text="Leo here").exists()


def test_a_colleague_may_leave_an_internal_note(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    as_user(desk.leo).post(desk.url("note"), {"text": "I spoke to them last week."})
    assert desk.case.timeline.filter(kind=CaseEvent.Kind.NOTE, actor=desk.leo).exists()


@pytest.mark.parametrize("name", ["approve", "resolve"])
def test_nobody_works_a_queued_case_without_taking_it(desk: Desk, name: str) -> None:
    html = fragment(desk.client.post(desk.url(name), {"outcome": "resolved"}, headers=HTMX))
    assert "Take the case first" in html
    desk.case.refresh_from_db()
    assert desk.case.status == Case.Status.QUEUED
    assert desk.refunds() == []


def test_a_supervisor_may_work_any_open_case(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    boss = as_user(agent_user(role=AgentProfile.Role.SUPERVISOR, username="rita"))

    boss.post(desk.url("approve"))
    boss.post(desk.url("resolve"), {"outcome": "resolved"})

    desk.case.refresh_from_db()
    assert desk.case.status == Case.Status.RESOLVED
    assert desk.refunds() == [Decimal("150.00")]


def test_an_action_cannot_be_approved_once_the_case_is_resolved(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    desk.client.post(desk.url("resolve"), {"outcome": "resolved"})

    html = fragment(desk.client.post(desk.url("approve"), headers=HTMX))

    assert "This case is resolved. Nothing was run." in html
    desk.drafted.refresh_from_db()
    assert desk.drafted.status == DraftedAction.Status.DRAFTED
    assert desk.refunds() == []


def test_an_action_drafted_before_the_case_opened_lands_on_its_timeline(desk: Desk) -> None:
    early = action_draft(
        tool="refund_payment",
        args={"order_id": desk.store.delivered.order_id, "amount": "20.00", "reason": "late"},
        drafted_by="ai",
        account_id=desk.store.customer.customer_id,
        conversation=desk.case.conversation,
    )
    desk.client.post(desk.url("take"))

    desk.client.post(desk.url("approve", action_id=early.pk))

    early.refresh_from_db()
    assert (early.status, early.case_id) == (DraftedAction.Status.EXECUTED, desk.case.pk)
    assert desk.case.timeline.filter(kind="action", data__action=early.pk).exists()


# --- transfers ------------------------------------------------------------------------------


def test_a_transfer_goes_only_to_an_agent_at_the_desk(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    html = fragment(
        desk.client.post(desk.url("transfer"), {"target": f"agent:{desk.leo.pk}"}, headers=HTMX)
    )
    assert "Leo is not available right now" in html
    desk.case.refresh_from_db()
    assert desk.case.assignee == desk.maya
    assert not desk.case.timeline.filter(kind=CaseEvent.Kind.TRANSFER).exists()


def test_a_sensitive_case_goes_only_to_an_agent_with_the_skill(desk: Desk) -> None:
    Case.objects.filter(pk=desk.case.pk).update(required_skill="bereavement")
    at_desk(desk.maya, skills=["bereavement"])
    desk.client.post(desk.url("take"))
    desk.case.refresh_from_db()
    assert desk.case.assignee == desk.maya
    at_desk(desk.leo)

    html = fragment(
        desk.client.post(desk.url("transfer"), {"target": f"agent:{desk.leo.pk}"}, headers=HTMX)
    )

    assert "needs the bereavement skill" in html
    at_desk(desk.leo, skills=["bereavement"])
    desk.client.post(desk.url("transfer"), {"target": f"agent:{desk.leo.pk}"})
    desk.case.refresh_from_db()
    assert desk.case.assignee == desk.leo


def test_an_agent_at_capacity_gets_a_transfer_only_from_a_supervisor(desk: Desk) -> None:
    at_desk(desk.leo, capacity=1)
    case_pick(case_id=CaseFactory(conversation__integration=desk.bot).pk, user=desk.leo)
    desk.client.post(desk.url("take"))

    html = fragment(
        desk.client.post(desk.url("transfer"), {"target": f"agent:{desk.leo.pk}"}, headers=HTMX)
    )
    assert "Leo is at capacity" in html

    boss = as_user(agent_user(role=AgentProfile.Role.SUPERVISOR, username="rita"))
    boss.post(desk.url("transfer"), {"target": f"agent:{desk.leo.pk}", "note": "urgent"})
    desk.case.refresh_from_db()
    assert desk.case.assignee == desk.leo


# --- the queue, next case, macros, presence --------------------------------------------------


def test_a_case_transferred_from_another_team_shows_on_the_agents_queue(desk: Desk) -> None:
    Team.objects.create(slug="returns", name="Returns")
    theirs = CaseFactory(conversation__integration=desk.bot, team="returns")
    Case.objects.filter(pk=theirs.pk).update(
        status=Case.Status.ASSIGNED, assignee=desk.maya, assigned_at=timezone.now()
    )
    html = desk.client.get(reverse("desk:queue")).content.decode()
    assert f'id="case-{theirs.pk}"' in html


def test_next_case_is_my_unanswered_case_before_my_answered_one(desk: Desk) -> None:
    answered = CaseFactory(conversation__integration=desk.bot)
    case_pick(case_id=answered.pk, user=desk.maya)
    Case.objects.filter(pk=answered.pk).update(first_response_at=timezone.now())
    unanswered = CaseFactory(conversation__integration=desk.bot)
    case_pick(case_id=unanswered.pk, user=desk.maya)

    response = desk.client.get(reverse("desk:next"))

    assert response["Location"] == reverse("desk:case", args=[unanswered.pk])


def test_a_macro_with_a_stray_brace_renders_and_leaves_the_page_working(desk: Desk) -> None:
    Macro.objects.create(name="Code", body="Use {SAVE10 at checkout, {customer_first_name}!")
    Macro.objects.create(name="Set", body="Sets look like {{a, b}}; ask {agent_name}.")
    desk.client.post(desk.url("take"))  # canned replies come with the reply box
    response = desk.client.get(desk.url("case"))
    assert response.status_code == 200
    first = desk.store.customer.first_name
    assert f"Use {{SAVE10 at checkout, {first}!" in response.content.decode()
    assert macro_fill("{unknown} {agent_name}", {"agent_name": "Maya"}) == " Maya"


def test_an_away_agent_stays_away_when_a_desk_page_opens(desk: Desk) -> None:
    from escalation.cases.routing import presence_heartbeat

    at_desk(desk.maya)
    presence_heartbeat(user=desk.maya, presence=AgentProfile.Presence.AWAY)  # the switch
    presence_heartbeat(user=desk.maya)
    assert AgentProfile.objects.get(user=desk.maya).presence == AgentProfile.Presence.AWAY
    html = desk.client.get(reverse("desk:queue")).content.decode()
    assert '<option value="away" selected>' in html

    # Gone quiet (the sweep), then back: still what they chose.
    AgentProfile.objects.filter(user=desk.maya).update(presence=AgentProfile.Presence.OFFLINE)
    presence_heartbeat(user=desk.maya)
    assert AgentProfile.objects.get(user=desk.maya).presence == AgentProfile.Presence.AWAY
    presence_heartbeat(user=desk.maya, presence=AgentProfile.Presence.ONLINE)
    AgentProfile.objects.filter(user=desk.maya).update(presence=AgentProfile.Presence.OFFLINE)
    presence_heartbeat(user=desk.maya)
    assert AgentProfile.objects.get(user=desk.maya).presence == AgentProfile.Presence.ONLINE


# --- after a person closes a case -------------------------------------------------------------


def test_a_customer_writing_after_a_resolved_case_opens_a_new_one(
    desk: Desk, django_capture_on_commit_callbacks: Any
) -> None:
    from conversations.services import events_ingest
    from tests.conftest import event

    desk.client.post(desk.url("take"))
    desk.client.post(desk.url("resolve"), {"outcome": "follow_up"})
    conversation = Conversation.objects.get(pk=desk.case.conversation_id)

    with django_capture_on_commit_callbacks(execute=True):
        results = events_ingest(
            integration=desk.bot,
            raw_events=[
                event("late-1", conversation.external_id, conversation.last_seq + 1, text="Hello?")
            ],
        )

    assert results[0].status == "stored"
    reopened = Case.objects.exclude(pk=desk.case.pk).get(conversation=conversation)
    assert (reopened.trigger, reopened.team) == (Case.Trigger.RETURNED, desk.case.team)
    assert reopened.status in {Case.Status.QUEUED, Case.Status.ASSIGNED}
    # Further messages join that case rather than opening more.
    events_ingest(
        integration=desk.bot,
        raw_events=[event("late-2", conversation.external_id, conversation.last_seq + 2)],
    )
    assert Case.objects.filter(conversation=conversation).count() == 2
    assert reopened.packets.exists()


def test_canned_replies_greet_the_writer_and_name_the_order_the_case_is_about(desk: Desk) -> None:
    from conversations.models import CustomerRef
    from escalation.models import HandoffPacket

    CustomerRef.objects.filter(pk=desk.case.conversation.customer_id).update(name="Yuki Ahmed")
    HandoffPacket.objects.filter(case=desk.case).update(
        data={"orders": [desk.store.delivered.order_id], "summary": {}}
    )
    Macro.objects.create(name="Hello", body="Hi {customer_first_name}, about {order_id}.")
    desk.client.post(desk.url("take"))  # canned replies come with the reply box

    html = desk.client.get(desk.url("case")).content.decode()

    assert f"Hi Yuki, about {desk.store.delivered.order_id}." in html
    account = desk.store.customer
    assert f"about the account of {account.first_name} {account.last_name}" in html


# --- what the page offers ---------------------------------------------------------------------


def test_a_page_whose_session_ended_sends_the_browser_to_log_in(desk: Desk) -> None:
    page = desk.url("case")
    response = Client().post(
        desk.url("note"), {"text": "x"}, headers={**HTMX, "HX-Current-URL": f"http://t{page}"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next={page}"


def test_a_sent_reply_tells_the_page_to_empty_the_box_and_no_longer_suggests_one(
    desk: Desk,
) -> None:
    desk.client.post(desk.url("take"))
    response = desk.client.post(desk.url("reply"), {"text": "On it."}, headers=HTMX)
    # Sent to <body>, not the form: a live redraw may have replaced the form by then.
    assert json.loads(response["HX-Trigger"]) == {"reply-sent": {"target": "body"}}
    assert "Let me sort out the refund." not in response.content.decode()
    empty = desk.client.post(desk.url("reply"), {"text": ""}, headers=HTMX)
    assert "HX-Trigger" not in empty


def test_a_supervisor_may_reply_on_a_case_someone_holds(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    boss = as_user(agent_user(role=AgentProfile.Role.SUPERVISOR, username="rita"))
    html = boss.get(desk.url("case")).content.decode()
    assert 'title="Take the case first"' not in html
    assert desk.url("approve") in html
    leo_html = as_user(desk.leo).get(desk.url("case")).content.decode()
    assert "Maya has this case" in leo_html
    assert 'id="reply-text"' not in leo_html
    assert desk.url("resolve") not in leo_html


def test_a_resolved_case_offers_nothing_to_do_and_says_how_it_ended(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    desk.client.post(desk.url("resolve"), {"outcome": "follow_up"})
    html = desk.client.get(desk.url("case")).content.decode()
    assert "resolved: follow-up needed" in html
    for name in ("reply", "note", "transfer", "resolve", "approve"):
        assert desk.url(name) not in html
    assert "first reply" not in html


def test_an_overdue_first_reply_says_overdue(desk: Desk) -> None:
    Case.objects.filter(pk=desk.case.pk).update(sla_due_at=timezone.now() - timedelta(minutes=3))
    html = desk.client.get(desk.url("case")).content.decode()
    assert "first reply overdue by 3" in html
    queue = desk.client.get(reverse("desk:queue")).content.decode()
    assert "first reply overdue by 3" in queue and "due in 0" not in queue


def test_an_unknown_case_gets_the_desk_not_found_page(desk: Desk) -> None:
    response = desk.client.get(reverse("desk:case", args=[999999]))
    assert response.status_code == 404
    assert "Back to the queue" in response.content.decode()
