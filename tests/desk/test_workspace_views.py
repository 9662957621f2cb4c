"""The case workspace over HTTP: the page, every POST, access checks, HTMX fragments and the
pinned query counts of the case and queue pages."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from actions.models import AuditEntry, DraftedAction
from conversations.models import Conversation, Event, Integration
from desk.selectors import QUEUE_PAGE_SIZE
from escalation.cases.routing import case_pick
from escalation.models import AgentProfile, Case, CaseEvent, Team
from store.models import Order
from tests.conftest import Desk
from tests.desk.conftest import HTMX, at_desk, fragment, kinds
from tests.factories import (
    AgentProfileFactory,
    CaseFactory,
    DraftedActionFactory,
    EventFactory,
    FulfillmentFactory,
    OrderFactory,
    PriorContactFactory,
    agent_user,
)

# --- the page -------------------------------------------------------------------------------


def test_the_case_page_shows_the_packet_transcript_account_and_drafted_action(desk: Desk) -> None:
    response = desk.client.get(desk.url("case"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert desk.case.conversation.external_id in html
    assert "a refund of $150" in html  # the summary's facts (its paragraph says the same)
    assert "message 3" in html
    assert desk.store.customer.first_name in html
    assert desk.store.delivered.order_id in html
    assert "policy: allow" in html
    assert "Take the case to approve or reject this action." in html
    desk.client.post(desk.url("take"))
    html = desk.client.get(desk.url("case")).content.decode()
    assert desk.url("approve") in html
    assert "Let me sort out the refund." in html  # the suggested reply fills the reply box


def test_an_htmx_request_for_the_case_page_gets_the_workspace_fragment_only(desk: Desk) -> None:
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    assert 'id="packet"' in html and 'id="account"' in html


def test_customer_text_is_escaped(desk: Desk) -> None:
    EventFactory(conversation=desk.case.conversation)
    Event.objects.filter(conversation=desk.case.conversation).update(
        text="<script>alert(1)</script>"
    )
    html = desk.client.get(desk.url("case")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- take, reply, note ----------------------------------------------------------------------


def test_taking_a_case_assigns_it_and_greets_the_customer(desk: Desk) -> None:
    response = desk.client.post(desk.url("take"))
    assert response.status_code == 302
    assert response["Location"] == desk.url("case")
    desk.case.refresh_from_db()
    assert (desk.case.status, desk.case.assignee) == (Case.Status.ASSIGNED, desk.maya)
    greeting = Event.objects.get(conversation=desk.case.conversation, role="agent")
    assert "Maya" in greeting.text


def test_taking_over_htmx_returns_the_workspace_with_the_new_owner(desk: Desk) -> None:
    html = fragment(desk.client.post(desk.url("take"), headers=HTMX))
    assert "with Maya" in html
    assert "Take this case" not in html


def test_taking_a_case_someone_else_holds_says_so_and_changes_nothing(desk: Desk) -> None:
    case_pick(case_id=desk.case.pk, user=desk.leo)
    html = fragment(desk.client.post(desk.url("take"), headers=HTMX))
    assert "Another agent has this case" in html
    desk.case.refresh_from_db()
    assert desk.case.assignee == desk.leo


def test_a_reply_goes_to_the_customer_and_marks_the_first_response(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    html = fragment(
        desk.client.post(desk.url("reply"), {"text": "  I've refunded your boots.  "}, headers=HTMX)
    )
    reply = Event.objects.filter(conversation=desk.case.conversation, role="agent").last()
    assert reply.text == "I've refunded your boots."
    assert "I&#x27;ve refunded your boots." in html
    desk.case.refresh_from_db()
    assert desk.case.first_response_at is not None
    assert kinds(desk.case)[-2:] == ["reply", "first_response"]
    desk.client.post(desk.url("reply"), {"text": "Anything else?"})
    assert kinds(desk.case)[-1] == "reply"
    assert desk.case.timeline.filter(kind=CaseEvent.Kind.FIRST_RESPONSE).count() == 1


def test_a_reply_needs_the_case_taken_first(desk: Desk) -> None:
    html = fragment(desk.client.post(desk.url("reply"), {"text": "Hello"}, headers=HTMX))
    assert "Take the case first" in html
    assert not Event.objects.filter(conversation=desk.case.conversation, role="agent").exists()


def test_an_empty_reply_is_refused(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    html = fragment(desk.client.post(desk.url("reply"), {"text": "   "}, headers=HTMX))
    assert "Write a reply first." in html
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.REPLY).count() == 0


def test_an_internal_note_lands_on_the_timeline_and_not_on_the_customer_channel(
    desk: Desk,
) -> None:
    html = fragment(
        desk.client.post(desk.url("note"), {"text": "Customer is a repeat buyer."}, headers=HTMX)
    )
    note = desk.case.timeline.get(kind=CaseEvent.Kind.NOTE)
    assert (note.actor, note.data) == (desk.maya, {"text": "Customer is a repeat buyer."})
    assert "Customer is a repeat buyer." in html
    assert not Event.objects.filter(conversation=desk.case.conversation, role="agent").exists()
    html = fragment(desk.client.post(desk.url("note"), {"text": ""}, headers=HTMX))
    assert "A note needs some text." in html


# --- drafted actions ------------------------------------------------------------------------


def test_approving_runs_the_action(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    html = fragment(desk.client.post(desk.url("approve"), {"note": "ok"}, headers=HTMX))
    assert "refund_payment done." in html
    desk.drafted.refresh_from_db()
    assert (desk.drafted.status, desk.drafted.decided_by) == (
        DraftedAction.Status.EXECUTED,
        desk.maya,
    )
    assert desk.refunds() == [Decimal("150.00")]
    assert desk.case.timeline.filter(kind="action", data__status="executed").exists()
    assert "refund_payment executed" in html


def test_approving_with_edited_arguments_runs_the_edit(desk: Desk) -> None:
    edited = {**desk.drafted.args, "amount": "40.00"}
    desk.client.post(desk.url("take"))
    response = desk.client.post(desk.url("approve"), {"args": json.dumps(edited)})
    assert response.status_code == 302
    desk.drafted.refresh_from_db()
    assert desk.drafted.status == DraftedAction.Status.EXECUTED
    assert desk.drafted.args == edited
    assert desk.drafted.original_args["amount"] == "150.00"
    assert desk.refunds() == [Decimal("40.00")]
    assert desk.drafted.audit.filter(kind=AuditEntry.Kind.EDITED).count() == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"order_id": "#W1", "amount": ', "not valid JSON; nothing was run"),
        ('["amount", "40.00"]', "must be a JSON object; nothing was run"),
        ('{"order_id": "#W1", "amount": NaN}', "not valid JSON; nothing was run"),
    ],
    ids=["invalid-json", "not-an-object", "nan"],
)
def test_approving_with_broken_arguments_explains_and_runs_nothing(
    desk: Desk, raw: str, message: str
) -> None:
    html = fragment(desk.client.post(desk.url("approve"), {"args": raw}, headers=HTMX))
    assert message in html
    desk.drafted.refresh_from_db()
    assert desk.drafted.status == DraftedAction.Status.DRAFTED
    assert desk.refunds() == []
    assert list(desk.drafted.audit.values_list("kind", flat=True)) == [AuditEntry.Kind.DRAFTED]


def test_an_action_the_policy_refuses_is_reported_and_not_run(desk: Desk) -> None:
    edited = {**desk.drafted.args, "amount": "5000.00"}
    desk.client.post(desk.url("take"))
    html = fragment(
        desk.client.post(desk.url("approve"), {"args": json.dumps(edited)}, headers=HTMX)
    )
    desk.drafted.refresh_from_db()
    # The edit is refused, not the action: it stands as drafted, to be edited again or run.
    assert desk.drafted.status == DraftedAction.Status.DRAFTED
    assert desk.drafted.args["amount"] == "150.00"
    assert desk.refunds() == []
    assert (
        "refund_payment with your edit was refused: The refund is more than what was paid" in html
    )
    denied = desk.drafted.audit.get(kind=AuditEntry.Kind.DENIED)
    assert denied.args["amount"] == "5000.00"
    desk.client.post(desk.url("approve"))
    assert desk.refunds() == [Decimal("150.00")]


def test_rejecting_never_runs_the_action(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    html = fragment(desk.client.post(desk.url("reject"), {"note": "not owed"}, headers=HTMX))
    desk.drafted.refresh_from_db()
    assert (desk.drafted.status, desk.drafted.decision_note) == (
        DraftedAction.Status.REJECTED,
        "not owed",
    )
    assert desk.refunds() == []
    assert "action-rejected" in html


def test_an_action_of_another_conversation_is_not_found(desk: Desk) -> None:
    other = CaseFactory(conversation__integration=desk.bot)
    foreign = DraftedActionFactory(
        case=other,
        args={"order_id": desk.store.delivered.order_id, "amount": "10.00", "reason": "x"},
        customer_id=desk.store.customer.customer_id,
    )
    desk.client.post(desk.url("take"))
    for name in ("approve", "reject"):
        assert desk.client.post(desk.url(name, action_id=foreign.pk)).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == DraftedAction.Status.DRAFTED


# --- transfer -------------------------------------------------------------------------------


def test_transferring_to_a_team_requeues_the_case_there(desk: Desk) -> None:
    Team.objects.create(slug="billing", name="Billing")
    desk.client.post(desk.url("take"))
    response = desk.client.post(
        desk.url("transfer"), {"target": "team:billing", "note": "A billing question"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:queue")
    desk.case.refresh_from_db()
    assert (desk.case.team, desk.case.status, desk.case.assignee) == (
        "billing",
        Case.Status.QUEUED,
        None,
    )
    transfer = desk.case.timeline.get(kind=CaseEvent.Kind.TRANSFER)
    assert transfer.data == {
        "to_team": "billing",
        "note": "A billing question",
        "from_name": "Maya",
    }
    assert kinds(desk.case)[-2:] == ["transfer", "requeued"]


def test_an_htmx_transfer_redirects_the_browser_to_the_queue(desk: Desk) -> None:
    Team.objects.create(slug="billing", name="Billing")
    desk.client.post(desk.url("take"))
    response = desk.client.post(desk.url("transfer"), {"target": "team:billing"}, headers=HTMX)
    assert response["HX-Redirect"] == reverse("desk:queue")


def test_transferring_to_an_agent_assigns_it_to_them(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    at_desk(desk.leo)
    response = desk.client.post(
        desk.url("transfer"), {"target": f"agent:{desk.leo.pk}", "note": "You know this one"}
    )
    assert response.status_code == 302
    desk.case.refresh_from_db()
    assert (desk.case.status, desk.case.assignee) == (Case.Status.ASSIGNED, desk.leo)
    transfer = desk.case.timeline.get(kind=CaseEvent.Kind.TRANSFER)
    assert transfer.data == {
        "to_agent": desk.leo.pk,
        "note": "You know this one",
        "to_name": "Leo",
        "from_name": "Maya",
    }
    greetings = Event.objects.filter(conversation=desk.case.conversation, role="agent")
    # Leo greets the customer when he opens the case, saying whom he takes over from.
    assert [g.payload["agent"] for g in greetings.order_by("seq")] == ["Maya"]
    desk.client.force_login(desk.leo)
    desk.client.get(desk.url("case"))
    handover = greetings.order_by("seq").last()
    assert handover.payload["agent"] == "Leo"
    assert "taking over from Maya" in handover.text


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("", "Choose a team or an agent to transfer to."),
        ("team:nope", "No team &#x27;nope&#x27;."),
        ("agent:987654", "No agent"),
    ],
    ids=["nothing", "unknown-team", "unknown-agent"],
)
def test_a_transfer_to_nowhere_is_refused(desk: Desk, target: str, message: str) -> None:
    desk.client.post(desk.url("take"))
    html = fragment(desk.client.post(desk.url("transfer"), {"target": target}, headers=HTMX))
    assert message in html
    desk.case.refresh_from_db()
    assert (desk.case.team, desk.case.status, desk.case.assignee) == (
        "general",
        Case.Status.ASSIGNED,
        desk.maya,
    )
    assert not desk.case.timeline.filter(kind=CaseEvent.Kind.TRANSFER).exists()


# --- resolve and next -----------------------------------------------------------------------


@pytest.mark.parametrize("outcome", Case.Outcome.values)
def test_resolving_with_each_outcome_closes_the_case_and_goes_to_the_next(
    desk: Desk, outcome: str
) -> None:
    desk.client.post(desk.url("take"))
    response = desk.client.post(desk.url("resolve"), {"outcome": outcome, "note": "done"})
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:next")
    desk.case.refresh_from_db()
    assert (desk.case.status, desk.case.outcome) == (Case.Status.RESOLVED, outcome)
    resolved = desk.case.timeline.get(kind=CaseEvent.Kind.RESOLVED)
    assert resolved.data == {"outcome": outcome, "note": "done"}
    owner = Conversation.objects.get(pk=desk.case.conversation_id).owner
    expected = "ai" if outcome == Case.Outcome.HANDED_BACK else "human"
    assert owner == expected


def test_an_htmx_resolve_redirects_the_browser_to_the_next_case(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    response = desk.client.post(desk.url("resolve"), {"outcome": "resolved"}, headers=HTMX)
    assert response["HX-Redirect"] == reverse("desk:next")


def test_after_the_last_case_the_queue_page_says_so_and_the_news_does_not_linger(
    desk: Desk,
) -> None:
    desk.client.post(desk.url("take"))
    response = desk.client.post(desk.url("resolve"), {"outcome": "resolved"}, follow=True)
    assert [url for url, _ in response.redirect_chain] == [
        reverse("desk:next"),
        reverse("desk:queue"),
    ]
    html = response.content.decode()
    assert f"Case {desk.case.pk} resolved: Resolved." in html
    assert "No case is waiting for you." in html
    later = CaseFactory(conversation__integration=desk.bot)
    html = desk.client.get(reverse("desk:case", args=[later.pk])).content.decode()
    assert "resolved: Resolved." not in html


def test_resolving_needs_a_known_outcome_and_an_open_case(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    html = fragment(desk.client.post(desk.url("resolve"), {"outcome": "maybe"}, headers=HTMX))
    assert "Unknown outcome" in html
    desk.case.refresh_from_db()
    assert desk.case.status == Case.Status.ASSIGNED

    desk.client.post(desk.url("resolve"), {"outcome": "resolved"})
    html = fragment(desk.client.post(desk.url("resolve"), {"outcome": "resolved"}, headers=HTMX))
    assert "was already resolved by Maya" in html
    html = fragment(desk.client.post(desk.url("note"), {"text": "late"}, headers=HTMX))
    assert "was already resolved by Maya" in html
    assert "your note was not added" in html


def test_next_case_goes_to_my_oldest_unanswered_case_then_the_queue_then_the_queue_page(
    desk: Desk,
) -> None:
    queued_later = CaseFactory(conversation__integration=desk.bot)
    mine = CaseFactory(conversation__integration=desk.bot)
    case_pick(case_id=mine.pk, user=desk.maya)
    assert desk.client.get(reverse("desk:next"))["Location"] == reverse("desk:case", args=[mine.pk])

    Case.objects.filter(pk=mine.pk).update(status=Case.Status.RESOLVED)
    # The queue's most urgent case (the oldest of equal priority).
    assert desk.client.get(reverse("desk:next"))["Location"] == desk.url("case")

    Case.objects.filter(pk__in=[desk.case.pk, queued_later.pk]).update(status=Case.Status.RESOLVED)
    response = desk.client.get(reverse("desk:next"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("desk:queue")
    assert "No case is waiting for you." in response.content.decode()


# --- access ---------------------------------------------------------------------------------

POSTS = ["take", "reply", "note", "transfer", "resolve", "approve", "reject"]


@pytest.mark.parametrize("name", ["case", *POSTS])
def test_an_agent_of_another_team_gets_404(desk: Desk, name: str) -> None:
    returns = Team.objects.create(slug="returns", name="Returns")
    outsider = AgentProfileFactory(user__username="rita", teams=[returns]).user
    client = Client()
    client.force_login(outsider)
    data = {"text": "x", "outcome": "resolved", "target": "team:returns"}
    response = client.get(desk.url(name)) if name == "case" else client.post(desk.url(name), data)
    assert response.status_code == 404
    desk.case.refresh_from_db()
    assert (desk.case.status, desk.case.team) == (Case.Status.QUEUED, "general")
    assert not desk.case.timeline.exists()


def test_an_agent_of_another_team_still_sees_a_case_assigned_to_them(desk: Desk) -> None:
    returns = Team.objects.create(slug="returns", name="Returns")
    desk.maya.agent_profile.teams.add(returns)
    assert desk.client.get(desk.url("case")).status_code == 404
    case_pick(case_id=desk.case.pk, user=desk.maya)
    assert desk.client.get(desk.url("case")).status_code == 200


def test_a_supervisor_sees_every_team(desk: Desk) -> None:
    Case.objects.filter(pk=desk.case.pk).update(team="legal")
    boss = agent_user(role=AgentProfile.Role.SUPERVISOR, username="sam")
    client = Client()
    client.force_login(boss)
    assert client.get(desk.url("case")).status_code == 200


@pytest.mark.parametrize("name", ["case", *POSTS])
def test_a_user_who_is_not_an_agent_gets_403(desk: Desk, name: str) -> None:
    client = Client()
    client.force_login(get_user_model().objects.create_user(username="outsider"))
    response = client.get(desk.url(name)) if name == "case" else client.post(desk.url(name))
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["case", *POSTS])
def test_anonymous_visitors_are_sent_to_log_in(desk: Desk, name: str) -> None:
    client = Client()
    response = client.get(desk.url(name)) if name == "case" else client.post(desk.url(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    desk.case.refresh_from_db()
    assert desk.case.status == Case.Status.QUEUED


@pytest.mark.parametrize("name", [*POSTS, "merge", "action_preview", "action_start"])
def test_writes_are_posts_only_and_a_get_goes_back_to_the_case(desk: Desk, name: str) -> None:
    response = desk.client.get(desk.url(name))
    assert response.status_code == 302
    assert response["Location"] == desk.url("case")
    desk.case.refresh_from_db()
    assert desk.case.status == Case.Status.QUEUED
    assert not desk.case.timeline.exists()


def test_writes_need_the_csrf_token(desk: Desk) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(desk.maya)
    assert client.post(desk.url("note"), {"text": "forged"}).status_code == 403
    assert not desk.case.timeline.exists()


# --- query counts ---------------------------------------------------------------------------

# session, user, agent check; the case and the agent's profile with its teams; the packet,
# events, drafted actions and timeline; the customer with payment methods; orders with their
# items, fulfillments and payments; subscriptions; contacts; macros; teams; agents.
# And the agent's presence for the status switch; and, for the case's holder, whether they
# greeted the customer yet; and the customer's other cases (escalation/cases/related.py).
CASE_PAGE_QUERIES = 23


def test_the_case_page_costs_the_same_queries_for_any_number_of_events_and_orders(
    desk: Desk, django_assert_num_queries: Any
) -> None:
    case_pick(case_id=desk.case.pk, user=desk.maya)  # 4 events and the greeting: 5
    store, now = desk.store, timezone.now()
    # The store's two orders of this customer, and one more: 3
    FulfillmentFactory(
        order=OrderFactory(
            customer=store.customer,
            items=[store.shirt_blue] * 2,
            created_at=now - timedelta(days=1),
            status=Order.Status.DELIVERED,
            paid_with=store.card,
        )
    )
    PriorContactFactory(customer=store.customer, contacted_at=now)
    CaseEvent.objects.create(case=desk.case, kind=CaseEvent.Kind.NOTE, actor=desk.leo)
    with django_assert_num_queries(CASE_PAGE_QUERIES):
        small = desk.client.get(desk.url("case"))
    html = small.content.decode()
    assert html.count('class="msg ') + html.count('class="tool ') == 5
    assert html.count('<li class="order') == 3

    for seq in range(6, 201):  # customer and AI messages, and a tool call every tenth
        if seq % 10 == 0:
            EventFactory(conversation=desk.case.conversation, seq=seq, tool_call=True)
        else:
            EventFactory(
                conversation=desk.case.conversation, seq=seq, role=("customer", "ai")[seq % 2]
            )
    for n in range(57):
        FulfillmentFactory(
            order=OrderFactory(
                customer=store.customer,
                items=[store.shirt_blue] * 2,
                created_at=now - timedelta(days=n + 1),
                status=Order.Status.DELIVERED,
                paid_with=store.card,
            )
        )
        PriorContactFactory(customer=store.customer, contacted_at=now - timedelta(days=n % 20))
    CaseEvent.objects.bulk_create(
        CaseEvent(case=desk.case, kind=CaseEvent.Kind.NOTE, actor=desk.leo, data={"text": "n"})
        for _ in range(50)
    )
    with django_assert_num_queries(CASE_PAGE_QUERIES):
        big = desk.client.get(desk.url("case"))
    html = big.content.decode()
    assert Event.objects.filter(conversation=desk.case.conversation).count() == 200
    assert html.count('class="msg ') + html.count('class="tool ') == 200
    assert html.count('<li class="order') == 25  # the most recent; the rest are one click away
    with django_assert_num_queries(CASE_PAGE_QUERIES):
        fragment(desk.client.get(desk.url("case"), headers=HTMX))


def _queue_cases(integration: Integration, count: int) -> None:
    """`count` open cases, due a second apart; every fourth assigned to an agent, every third
    of a named customer."""
    agents = list(get_user_model().objects.filter(agent_profile__isnull=False))
    now = timezone.now()
    for n in range(count):
        CaseFactory(
            conversation__integration=integration,
            conversation__customer_name=f"Customer {n}" if n % 3 == 0 else "",
            status=Case.Status.ASSIGNED if n % 4 == 0 else Case.Status.QUEUED,
            assignee=agents[n % len(agents)] if n % 4 == 0 else None,
            priority=30 + n % 60,
            topic="shipping",
            summary_line=f"Case {n}",
            now=now - timedelta(seconds=n),
        )


# session, user, agent check, profile and its teams, the view counts, the cases, their count,
# the topics to filter by
QUEUE_PAGE_QUERIES = 9


def test_the_queue_page_costs_the_same_queries_for_1_and_300_cases(
    desk: Desk, django_assert_num_queries: Any
) -> None:
    Case.objects.all().delete()
    _queue_cases(desk.bot, 1)
    with django_assert_num_queries(QUEUE_PAGE_QUERIES):
        one = desk.client.get(reverse("desk:queue"))
    assert one.content.decode().count('class="card ') == 1

    _queue_cases(desk.bot, 299)
    with django_assert_num_queries(QUEUE_PAGE_QUERIES):
        many = desk.client.get(reverse("desk:queue"))
    html = many.content.decode()
    assert html.count('class="card ') == QUEUE_PAGE_SIZE
    assert f"Showing the {QUEUE_PAGE_SIZE} most urgent of 300." in html
    with django_assert_num_queries(QUEUE_PAGE_QUERIES):
        fragment_html = desk.client.get(reverse("desk:queue"), headers=HTMX).content.decode()
    assert fragment_html.lstrip().startswith('<section id="queue-list"')
