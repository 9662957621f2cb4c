"""Agents start catalog actions from the case page: a form from the tool's schema, a policy
preview that runs nothing, then the drafted-action path (policy at execution, audit), for the
case's customer only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import TestCase
from django.urls import reverse

from actions.catalog import TOOLS
from actions.models import AuditEntry, DraftedAction
from actions.schema_form import startable_tools, tool_form
from conversations.events import SUPERVISORS_GROUP
from escalation.models import CaseEvent
from store.models import Order, PaymentMethod
from tests.conftest import Desk
from tests.desk.conftest import HTMX, fragment
from tests.factories import OrderFactory


def url(desk: Desk, name: str) -> str:
    return reverse(f"desk:{name}", kwargs={"case_id": desk.case.pk})


def audit_count() -> int:
    return AuditEntry.objects.count()


@pytest.mark.parametrize("tool", [t.name for t in startable_tools()])
def test_every_consequential_tool_gets_a_form_from_its_schema(desk: Desk, tool: str) -> None:
    desk.client.post(desk.url("take"))
    html = desk.client.get(url(desk, "action_form"), {"tool": tool}, headers=HTMX)
    html = html.content.decode()
    assert 'id="action-start"' in html
    for name in TOOLS[tool].args.model_json_schema()["properties"]:
        assert f'name="{name}"' in html, name


def test_the_form_binds_the_customer_and_offers_their_records(desk: Desk) -> None:
    fields = {
        f.name: f
        for f in tool_form(
            tool=TOOLS["issue_store_credit"],
            customer_id="c1",
        )
    }
    assert (fields["user_id"].value, fields["user_id"].readonly) == ("c1", True)
    assert fields["amount"].kind == "amount"
    desk.client.post(desk.url("take"))
    html = desk.client.get(
        url(desk, "action_form"), {"tool": "cancel_pending_order"}, headers=HTMX
    ).content.decode()
    assert '<option value="no longer needed">' in html
    assert '<option value="ordered by mistake">' in html
    assert f'<option value="{desk.store.pending.order_id}">' in html


def test_the_preview_says_what_the_policy_would_decide_and_runs_nothing(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    before = audit_count()
    order = desk.store.delivered.order_id
    allow = desk.client.post(
        url(desk, "action_preview"),
        {"tool": "refund_payment", "order_id": order, "amount": "20.00", "reason": "late"},
        headers=HTMX,
    ).content.decode()
    assert "policy: allow" in allow and "Run it now" in allow
    other = desk.client.post(
        url(desk, "action_preview"),
        {
            "tool": "refund_payment",
            "order_id": desk.store.other_order.order_id,
            "amount": "20.00",
            "reason": "late",
        },
        headers=HTMX,
    ).content.decode()
    assert "policy: deny" in other and "another customer" in other
    assert "disabled" in other
    bad = desk.client.post(
        url(desk, "action_preview"),
        {"tool": "refund_payment", "order_id": order, "amount": "20.001", "reason": "late"},
        headers=HTMX,
    ).content.decode()
    assert "amount: a positive amount with at most 2 decimals" in bad
    assert audit_count() == before
    assert desk.refunds() == []


def test_starting_an_action_runs_it_on_the_drafted_path_with_its_audit(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    pending = desk.store.pending
    html = fragment(
        desk.client.post(
            url(desk, "action_start"),
            {
                "tool": "cancel_pending_order",
                "order_id": pending.order_id,
                "reason": "no longer needed",
            },
            headers=HTMX,
        )
    )
    assert "cancel_pending_order done." in html
    pending.refresh_from_db()
    assert pending.status == Order.Status.CANCELLED
    started = DraftedAction.objects.get(tool="cancel_pending_order")
    assert (started.started_by, started.drafted_by, started.status) == (
        desk.maya,
        "agent",
        DraftedAction.Status.EXECUTED,
    )
    assert started.customer_id == desk.store.customer.customer_id
    assert list(started.audit.order_by("id").values_list("kind", "user")) == [
        ("drafted", desk.maya.pk),
        ("approved", desk.maya.pk),
        ("executed", desk.maya.pk),
    ]
    assert CaseEvent.objects.filter(
        case=desk.case, kind=CaseEvent.Kind.ACTION, data__status="started, executed"
    ).exists()
    assert "started by" in html


def test_a_refused_start_leaves_no_draft_is_audited_and_keeps_the_form(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    html = fragment(
        desk.client.post(
            url(desk, "action_start"),
            {
                "tool": "refund_payment",
                "order_id": desk.store.other_order.order_id,
                "amount": "12.34",
                "reason": "goodwill for the neighbour",
            },
            headers=HTMX,
        )
    )
    assert "refund_payment was not run: It belongs to another customer" in html
    assert 'value="12.34"' in html and "goodwill for the neighbour" in html
    assert not DraftedAction.objects.filter(tool="refund_payment", started_by=desk.maya).exists()
    denied = AuditEntry.objects.get(kind=AuditEntry.Kind.DENIED, user=desk.maya)
    assert "other_customer" in denied.reasons
    assert denied.case_id == desk.case.pk


def test_the_customer_of_a_started_action_is_the_cases_whatever_was_posted(desk: Desk) -> None:
    desk.client.post(desk.url("take"))
    other = desk.store.other_customer.customer_id
    desk.client.post(
        url(desk, "action_start"),
        {"tool": "issue_store_credit", "user_id": other, "amount": "15.00", "reason": "sorry"},
    )
    started = DraftedAction.objects.get(tool="issue_store_credit")
    assert started.args["user_id"] == desk.store.customer.customer_id
    assert started.status == DraftedAction.Status.EXECUTED
    assert not PaymentMethod.objects.filter(
        customer=desk.store.other_customer, source=PaymentMethod.Source.GIFT_CARD, balance__gt=0
    ).exists()


def test_a_start_over_the_agents_authority_waits_for_a_supervisor(
    desk: Desk, pushes: list[tuple[str, Any]]
) -> None:
    store = desk.store
    order = OrderFactory(
        customer=store.customer,
        status=Order.Status.DELIVERED,
        items=[store.boots_black] * 6,
        paid_with=store.card,
    )
    desk.client.post(desk.url("take"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        html = fragment(
            desk.client.post(
                url(desk, "action_start"),
                {
                    "tool": "refund_payment",
                    "order_id": order.order_id,
                    "amount": "600.00",
                    "reason": "x",
                },
                headers=HTMX,
            )
        )
    assert "It waits for a supervisor" in html
    started = DraftedAction.objects.get(started_by=desk.maya)
    assert (started.status, started.held_by) == (DraftedAction.Status.DRAFTED, desk.maya)
    assert (SUPERVISORS_GROUP, "approvals.changed") in [(g, e.type) for g, e in pushes]
    assert "refund_payment started, held for a supervisor" in html


def test_only_who_may_work_the_case_can_start_one(desk: Desk) -> None:
    before = audit_count()
    html = fragment(
        desk.client.post(
            url(desk, "action_start"),
            {
                "tool": "cancel_pending_order",
                "order_id": desk.store.pending.order_id,
                "reason": "no longer needed",
            },
            headers=HTMX,
        )
    )
    assert "Take the case first" in html
    assert audit_count() == before
    desk.store.pending.refresh_from_db()
    assert desk.store.pending.status == Order.Status.PENDING
