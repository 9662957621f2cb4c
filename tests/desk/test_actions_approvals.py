"""Approvals waiting for a supervisor: the case says who must approve, supervisors are told
(a live badge and the /approvals/ list), and a supervisor approves from the case."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client, TestCase
from django.urls import reverse

from actions.models import DraftedAction
from actions.services import action_draft, drafted_action_approve
from conversations.events import SUPERVISORS_GROUP
from escalation.cases.work import case_action_decide
from escalation.models import AgentProfile, Case
from store.models import Order, Payment
from tests.conftest import Desk
from tests.desk.conftest import HTMX, fragment
from tests.desk.test_socket_access import _agent, _socket
from tests.factories import CaseFactory, OrderFactory, agent_user, store_scenario


@pytest.fixture
def rita(desk: Desk) -> tuple[Any, Client]:
    user = agent_user(role=AgentProfile.Role.SUPERVISOR, username="rita")
    client = Client()
    client.force_login(user)
    return user, client


def big_order(desk: Desk) -> Order:
    store = desk.store
    return OrderFactory(
        customer=store.customer,
        status=Order.Status.DELIVERED,
        items=[store.boots_black] * 6,
        paid_with=store.card,
    )


def held_refund(desk: Desk) -> DraftedAction:
    """Maya takes the case and approves the AI's refund edited to $600: over an agent's
    $500, so it is held for a supervisor."""
    order = big_order(desk)
    edited = {"order_id": order.order_id, "amount": "600.00", "reason": "defective"}
    desk.client.post(desk.url("take"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        desk.client.post(desk.url("approve"), {"args": json.dumps(edited)})
    desk.drafted.refresh_from_db()
    return desk.drafted


def test_an_approval_over_the_agents_authority_is_held_and_pushed_to_supervisors(
    desk: Desk, pushes: list[tuple[str, Any]]
) -> None:
    drafted = held_refund(desk)
    assert drafted.status == DraftedAction.Status.DRAFTED
    assert (drafted.held_by, drafted.held_at is not None) == (desk.maya, True)
    assert drafted.decision["approver"] == "supervisor"
    assert (SUPERVISORS_GROUP, "approvals.changed") in [(g, e.type) for g, e in pushes]
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    assert "Waiting for a supervisor's approval: asked by Maya" in html
    assert "refund_payment held for a supervisor" in html
    assert Payment.objects.filter(transaction_type=Payment.Type.REFUND).count() == 0


def test_an_agent_sees_who_must_approve_before_asking(desk: Desk) -> None:
    order = big_order(desk)
    drafted = action_draft(
        tool="refund_payment",
        args={"order_id": order.order_id, "amount": "600.00", "reason": "defective"},
        drafted_by="ai",
        account_id=desk.store.customer.customer_id,
        conversation=desk.case.conversation,
        case=desk.case,
    )
    desk.client.post(desk.url("take"))
    html = fragment(desk.client.get(desk.url("case"), headers=HTMX))
    start = html.index(f'id="action-{drafted.pk}"')
    shown = html[start : html.index("</article>", start)]
    assert "Needs a supervisor's approval." in shown
    assert "Ask a supervisor to approve" in shown


def test_supervisors_get_the_list_and_approve_from_the_case(
    desk: Desk, rita: tuple[Any, Client], pushes: list[tuple[str, Any]]
) -> None:
    drafted = held_refund(desk)
    _, client = rita
    page = client.get(reverse("desk:approvals")).content.decode()
    assert f'href="{desk.url("case")}#action-{drafted.pk}"' in page
    assert "refund_payment" in page and "$600.00" in page
    assert 'id="approvals-badge"' in page and 'aria-label="1 waiting"' in page

    pushes.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        html = fragment(client.post(desk.url("approve"), headers=HTMX))
    assert "refund_payment done." in html
    assert (SUPERVISORS_GROUP, "approvals.changed") in [(g, e.type) for g, e in pushes]
    refunds = Payment.objects.filter(transaction_type=Payment.Type.REFUND)
    assert list(refunds.values_list("amount", flat=True)) == [Decimal("600.00")]
    page = client.get(reverse("desk:approvals")).content.decode()
    assert "Nothing is waiting for a supervisor." in page
    assert 'aria-label="1 waiting"' not in page


def test_the_list_leaves_out_resolved_cases_and_agents_cannot_open_it(
    desk: Desk, rita: tuple[Any, Client]
) -> None:
    held_refund(desk)
    assert desk.client.get(reverse("desk:approvals")).status_code == 403
    assert 'id="approvals-badge"' not in desk.client.get(reverse("desk:queue")).content.decode()
    Case.objects.filter(pk=desk.case.pk).update(status=Case.Status.RESOLVED)
    page = rita[1].get(reverse("desk:approvals")).content.decode()
    assert "Nothing is waiting for a supervisor." in page


def test_the_approvals_page_costs_the_same_queries_for_1_and_20(
    desk: Desk, rita: tuple[Any, Client], django_assert_num_queries: Any
) -> None:
    held_refund(desk)
    _, client = rita
    with django_assert_num_queries(7) as small:  # the list, its count, the badge
        client.get(reverse("desk:approvals"))
    for _ in range(19):
        drafted = action_draft(
            tool="refund_payment",
            args={"order_id": big_order(desk).order_id, "amount": "600.00", "reason": "x"},
            drafted_by="ai",
            account_id=desk.store.customer.customer_id,
            conversation=desk.case.conversation,
            case=desk.case,
        )
        drafted_action_approve(drafted_id=drafted.pk, user=desk.maya, actor="agent")
    with django_assert_num_queries(len(small.captured_queries)):
        page = client.get(reverse("desk:approvals")).content.decode()
    assert page.count('class="approval"') == 20


@database_sync_to_async
def _hold_for_supervisor(agent: Any) -> None:
    """An agent holding a case approves a $600 refund: held for a supervisor."""
    store = store_scenario()
    order = OrderFactory(
        customer=store.customer,
        status=Order.Status.DELIVERED,
        items=[store.boots_black] * 6,
        paid_with=store.card,
    )
    case = CaseFactory(
        conversation__account_id=store.customer.customer_id,
        status=Case.Status.ASSIGNED,
        assignee=agent,
    )
    drafted = action_draft(
        tool="refund_payment",
        args={"order_id": order.order_id, "amount": "600.00", "reason": "x"},
        drafted_by="ai",
        account_id=store.customer.customer_id,
        conversation=case.conversation,
        case=case,
    )
    held = case_action_decide(case_id=case.pk, drafted_id=drafted.pk, user=agent, approve=True)
    assert held.held_at is not None


@pytest.mark.django_db(transaction=True)
async def test_a_supervisors_desk_socket_hears_the_badge_live() -> None:
    sam = await _agent("sam", teams=[], role="supervisor")
    leo = await _agent("leo", teams=["general"])
    supervisor_socket = await _socket("/ws/desk/queue/", sam)
    agent_socket = await _socket("/ws/desk/queue/", leo)
    frames = [await supervisor_socket.receive_from(timeout=5) for _ in range(2)]
    assert any('id="approvals-badge"' in f and "aria-label" not in f for f in frames)
    assert 'id="approvals-badge"' not in await agent_socket.receive_from(timeout=5)

    await _hold_for_supervisor(leo)
    pushed = ""
    while 'aria-label="1 waiting"' not in pushed:
        pushed = await supervisor_socket.receive_from(timeout=5)
    assert 'hx-swap-oob="outerHTML"' in pushed
    heard = []
    while not await agent_socket.receive_nothing(timeout=0.5):
        heard.append(await agent_socket.receive_from(timeout=1))
    assert not any("approvals-badge" in frame for frame in heard)
    await supervisor_socket.disconnect()
    await agent_socket.disconnect()


def test_resolving_a_case_with_a_held_approval_tells_the_supervisors(
    desk: Desk, pushes: list[tuple[str, Any]]
) -> None:
    """The badge counts held approvals on open cases: resolving one such case changes it."""
    from escalation.cases.lifecycle import case_resolve

    held_refund(desk)
    pushes.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        case_resolve(case_id=desk.case.pk, user=desk.maya, outcome=Case.Outcome.RESOLVED)
    assert (SUPERVISORS_GROUP, "approvals.changed") in [(g, e.type) for g, e in pushes]
