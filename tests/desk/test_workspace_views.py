"""The case workspace over HTTP: the page, every POST, access checks, HTMX fragments and the
pinned query counts of the case and queue pages."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from actions.models import AuditEntry, DraftedAction
from actions.services import action_draft
from conversations.models import Conversation, CustomerRef, Event, Integration
from conversations.services import integration_create
from desk.selectors import QUEUE_PAGE_SIZE
from escalation.cases.routing import case_pick, case_schedule
from escalation.models import AgentProfile, Case, CaseEvent, HandoffPacket, Team
from store.models import (
    Fulfillment,
    Order,
    OrderItem,
    Payment,
    PriorContact,
)
from tests.factories import Store, agent_user, store_scenario

HTMX = {"HX-Request": "true"}
_external_ids = itertools.count(1)


def make_case(
    integration: Integration, *, team: str = "general", account_id: str = "", name: str = ""
) -> Case:
    customer = CustomerRef.objects.create(integration=integration, name=name) if name else None
    conversation = Conversation.objects.create(
        integration=integration,
        external_id=f"web-{next(_external_ids):04d}",
        owner=Conversation.Owner.HUMAN,
        account_id=account_id,
        customer=customer,
    )
    case = Case(
        conversation=conversation,
        status=Case.Status.QUEUED,
        trigger=Case.Trigger.HANDOFF,
        reason="policy",
        note="Refund over the AI's limit",
        team=team,
        summary_line="Wants a refund for boots that fell apart",
    )
    case_schedule(case=case)
    case.save()
    return case


def add_events(case: Case, count: int) -> None:
    """`count` more customer and AI messages, and a tool call every tenth."""
    conversation = Conversation.objects.get(pk=case.conversation_id)
    start = conversation.last_seq
    now = timezone.now()
    rows = []
    for seq in range(start + 1, start + count + 1):
        if seq % 10 == 0:
            kind, role, payload = (
                Event.Type.TOOL_CALL,
                "",
                {"tool": "get_order_details", "status": "ok", "args": {"order_id": "#W1"}},
            )
        else:
            kind, role, payload = Event.Type.MESSAGE, ("customer", "ai")[seq % 2], {}
        rows.append(
            Event(
                integration_id=conversation.integration_id,
                conversation=conversation,
                event_id=f"{conversation.external_id}-{seq}",
                seq=seq,
                type=kind,
                role=role,
                text=f"message {seq}" if kind == Event.Type.MESSAGE else "",
                payload={"type": kind, "seq": seq, "role": role, **payload},
                at=now,
            )
        )
    Event.objects.bulk_create(rows)
    Conversation.objects.filter(pk=conversation.pk).update(last_seq=start + count)


def add_orders(store: Store, count: int) -> None:
    """`count` more orders of the store's customer, each with two items, a payment and a
    fulfillment with tracking, and a prior contact per order."""
    customer = store.customer
    now = timezone.now()
    first = Order.objects.count()
    orders = Order.objects.bulk_create(
        Order(
            order_id=f"#B{first + n:07d}",
            customer=customer,
            status=Order.Status.DELIVERED,
            total=Decimal("100.00"),
            created_at=now - timedelta(days=n + 1),
        )
        for n in range(count)
    )
    variant = store.shirt_blue
    OrderItem.objects.bulk_create(
        OrderItem(
            order=order,
            item_id=variant.item_id,
            product_id=variant.product.product_id,
            name=variant.product.name,
            options=variant.options,
            price=Decimal("50.00"),
        )
        for order in orders
        for _ in range(2)
    )
    Payment.objects.bulk_create(
        Payment(
            order=order,
            transaction_type=Payment.Type.PAYMENT,
            amount=order.total,
            payment_method_id=store.card.method_id,
        )
        for order in orders
    )
    Fulfillment.objects.bulk_create(
        Fulfillment(order=order, tracking_ids=[f"1Z{order.pk:08d}"], carrier="UPS")
        for order in orders
    )
    PriorContact.objects.bulk_create(
        PriorContact(
            customer=customer,
            topic="shipping",
            outcome=PriorContact.Outcome.RESOLVED,
            contacted_at=now - timedelta(days=n % 20),
        )
        for n in range(count)
    )


@dataclass
class Desk:
    store: Store
    bot: Integration
    case: Case
    drafted: DraftedAction
    maya: Any
    leo: Any
    client: Client

    def url(self, name: str, **kwargs: Any) -> str:
        if name in {"approve", "reject"}:
            kwargs.setdefault("action_id", self.drafted.pk)
        return reverse(f"desk:{name}", kwargs={"case_id": self.case.pk, **kwargs})

    def refunds(self) -> list[Decimal]:
        return list(
            Payment.objects.filter(
                order=self.store.delivered, transaction_type=Payment.Type.REFUND
            ).values_list("amount", flat=True)
        )


def _agent(username: str, first_name: str) -> Any:
    user = agent_user(username=username)
    user.first_name = first_name
    user.save(update_fields=["first_name"])
    return user


@pytest.fixture
def desk(db: None) -> Desk:
    store = store_scenario()
    bot, _ = integration_create(name="acme-bot")
    customer = store.customer
    case = make_case(
        bot,
        account_id=customer.customer_id,
        name=f"{customer.first_name} {customer.last_name}",
    )
    add_events(case, 4)
    HandoffPacket.objects.create(
        case=case,
        version=1,
        backend=HandoffPacket.Backend.EMBEDDED,
        data={
            "summary": {
                "text": "The boots fell apart after a week; the customer wants $150 back.",
                "customer_wants": "a refund of $150",
            },
            "suggested_reply": "I'm sorry about the boots. Let me sort out the refund.",
            "sentiment": {"trajectory": [-0.2, -0.6]},
        },
    )
    drafted = action_draft(
        tool="refund_payment",
        args={"order_id": store.delivered.order_id, "amount": "150.00", "reason": "defective"},
        drafted_by="ai",
        account_id=customer.customer_id,
        conversation=case.conversation,
        case=case,
    )
    client = Client()
    maya = _agent("maya", "Maya")
    client.force_login(maya)
    return Desk(store, bot, case, drafted, maya, _agent("leo", "Leo"), client)


def at_desk(user: Any, **fields: Any) -> None:
    """The agent has the desk open (online, with a fresh heartbeat)."""
    AgentProfile.objects.filter(user=user).update(
        presence=AgentProfile.Presence.ONLINE, last_seen_at=timezone.now(), **fields
    )


def fragment(response: Any) -> str:
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="workspace"'), html[:200]
    assert "<html" not in html
    return html


def kinds(case: Case) -> list[str]:
    return list(case.timeline.order_by("at", "id").values_list("kind", flat=True))


# --- the page -------------------------------------------------------------------------------


def test_the_case_page_shows_the_packet_transcript_account_and_drafted_action(desk: Desk) -> None:
    response = desk.client.get(desk.url("case"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert desk.case.conversation.external_id in html
    assert "the customer wants $150 back" in html
    assert "message 3" in html
    assert desk.store.customer.first_name in html
    assert desk.store.delivered.order_id in html
    assert "policy: allow" in html
    assert "Take the case to approve or reject this action." in html
    assert "Let me sort out the refund." in html  # the suggested reply fills the reply box
    desk.client.post(desk.url("take"))
    html = desk.client.get(desk.url("case")).content.decode()
    assert desk.url("approve") in html


def test_an_htmx_request_for_the_case_page_gets_the_workspace_fragment_only(desk: Desk) -> None:
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    assert 'id="packet"' in html and 'id="account"' in html


def test_customer_text_is_escaped(desk: Desk) -> None:
    add_events(desk.case, 1)
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
    other = make_case(desk.bot)
    foreign = action_draft(
        tool="refund_payment",
        args={"order_id": desk.store.delivered.order_id, "amount": "10.00", "reason": "x"},
        drafted_by="ai",
        account_id=desk.store.customer.customer_id,
        conversation=other.conversation,
        case=other,
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
    assert transfer.data == {"to_team": "billing", "note": "A billing question"}
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
    assert transfer.data == {"to_agent": desk.leo.pk, "note": "You know this one"}
    greetings = Event.objects.filter(conversation=desk.case.conversation, role="agent")
    assert [g.payload["agent"] for g in greetings.order_by("seq")] == ["Maya", "Leo"]


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
    later = make_case(desk.bot)
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
    assert "This case is resolved." in html
    html = fragment(desk.client.post(desk.url("note"), {"text": "late"}, headers=HTMX))
    assert "This case is resolved." in html


def test_next_case_goes_to_my_oldest_unanswered_case_then_the_queue_then_the_queue_page(
    desk: Desk,
) -> None:
    queued_later = make_case(desk.bot)
    mine = make_case(desk.bot)
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
    outsider = _agent("rita", "Rita")
    outsider.agent_profile.teams.add(returns)
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


@pytest.mark.parametrize("name", POSTS)
def test_writes_are_posts_only(desk: Desk, name: str) -> None:
    assert desk.client.get(desk.url(name)).status_code == 405


def test_writes_need_the_csrf_token(desk: Desk) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(desk.maya)
    assert client.post(desk.url("note"), {"text": "forged"}).status_code == 403
    assert not desk.case.timeline.exists()


# --- query counts ---------------------------------------------------------------------------

# session, user, agent check; the case and the agent's profile with its teams; the packet,
# events, drafted actions and timeline; the customer with payment methods; orders with their
# items, fulfillments and payments; subscriptions; contacts; macros; teams; agents.
# And the agent's presence for the status switch.
CASE_PAGE_QUERIES = 21


def test_the_case_page_costs_the_same_queries_for_any_number_of_events_and_orders(
    desk: Desk, django_assert_num_queries: Any
) -> None:
    case_pick(case_id=desk.case.pk, user=desk.maya)  # 4 events and the greeting: 5
    add_orders(desk.store, 1)  # the store's two orders of this customer, and one more: 3
    CaseEvent.objects.create(case=desk.case, kind=CaseEvent.Kind.NOTE, actor=desk.leo)
    with django_assert_num_queries(CASE_PAGE_QUERIES):
        small = desk.client.get(desk.url("case"))
    html = small.content.decode()
    assert html.count('class="msg ') + html.count('class="tool ') == 5
    assert html.count('class="order"') == 3

    add_events(desk.case, 195)
    add_orders(desk.store, 57)
    CaseEvent.objects.bulk_create(
        CaseEvent(case=desk.case, kind=CaseEvent.Kind.NOTE, actor=desk.leo, data={"text": "n"})
        for _ in range(50)
    )
    with django_assert_num_queries(CASE_PAGE_QUERIES):
        big = desk.client.get(desk.url("case"))
    html = big.content.decode()
    assert Event.objects.filter(conversation=desk.case.conversation).count() == 200
    assert html.count('class="msg ') + html.count('class="tool ') == 200
    assert html.count('class="order"') == 25  # the most recent; the rest are one click away
    with django_assert_num_queries(CASE_PAGE_QUERIES):
        fragment(desk.client.get(desk.url("case"), headers=HTMX))


def _queue_cases(integration: Integration, count: int) -> None:
    agents = list(get_user_model().objects.filter(agent_profile__isnull=False))
    conversations = Conversation.objects.bulk_create(
        Conversation(
            integration=integration,
            external_id=f"bulk-{next(_external_ids):05d}",
            owner=Conversation.Owner.HUMAN,
            customer=CustomerRef.objects.create(integration=integration, name=f"Customer {n}")
            if n % 3 == 0
            else None,
        )
        for n in range(count)
    )
    now = timezone.now()
    cases = []
    for n, conversation in enumerate(conversations):
        case = Case(
            conversation=conversation,
            status=Case.Status.ASSIGNED if n % 4 == 0 else Case.Status.QUEUED,
            assignee=agents[n % len(agents)] if n % 4 == 0 else None,
            trigger=Case.Trigger.HANDOFF,
            reason="customer_request",
            priority=30 + n % 60,
            topic="shipping",
            summary_line=f"Case {n}",
        )
        case_schedule(case=case, now=now - timedelta(seconds=n))
        cases.append(case)
    Case.objects.bulk_create(cases)


# session, user, agent check, profile and its teams, the cases, their count, presence
QUEUE_PAGE_QUERIES = 7


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
