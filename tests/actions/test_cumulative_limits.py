"""The AI's authority holds in sum: limits per order, per conversation and per customer-day
count what the same kind of actor already gave back, and the audit keeps the running total."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from actions.models import AuditEntry, AuthorityLimit
from actions.services import action_execute
from conversations.models import Conversation
from conversations.services import integration_create
from store.models import Order, Payment
from tests.factories import store_scenario

pytestmark = pytest.mark.django_db


def _big_order(store: Any, total: str = "429.67") -> Order:
    order = Order.objects.create(
        order_id="#W9000001", customer=store.customer, status="delivered", total=Decimal(total)
    )
    Payment.objects.create(
        order=order,
        transaction_type="payment",
        amount=Decimal(total),
        payment_method_id=store.card.method_id,
    )
    return order


def _conversation(name: str = "web-sum") -> Conversation:
    integration, _ = integration_create(name=f"bot-{name}")
    return Conversation.objects.create(integration=integration, external_id=name)


def _ai(tool: str, args: dict[str, Any], store: Any, conversation: Conversation | None) -> Any:
    return action_execute(
        actor="ai",
        tool=tool,
        args=args,
        account_id=store.customer.customer_id,
        conversation=conversation,
    )


def test_four_refunds_of_100_on_one_order_are_not_400_without_approval() -> None:
    store = store_scenario()
    order = _big_order(store)
    conversation = _conversation()
    args = {"order_id": order.order_id, "amount": "100.00", "reason": "late"}

    outcomes = [_ai("refund_payment", args, store, conversation) for _ in range(4)]

    assert [o.decision.outcome for o in outcomes] == ["allow"] + ["needs_approval"] * 3
    assert "over_order_total_limit" in outcomes[1].decision.reasons
    # Held for a person: an agent's own limits in sum cover it.
    assert outcomes[1].decision.approver == "agent"
    refunded = Payment.objects.filter(order=order, transaction_type="refund")
    assert sum(p.amount for p in refunded) == Decimal("100.00")


def test_store_credit_fifteen_times_stops_at_the_sum_limits() -> None:
    store = store_scenario()
    executed = 0
    for n in range(15):
        # A new conversation each time: the per-customer daily sum still holds.
        outcome = _ai(
            "issue_store_credit",
            {"user_id": store.customer.customer_id, "amount": "100.00", "reason": "sorry"},
            store,
            _conversation(f"web-credit-{n}"),
        )
        executed += outcome.executed
    limit = AuthorityLimit.objects.get(actor="ai").max_refund_per_customer_day
    assert limit == Decimal("200.00")
    assert executed == 2
    store.gift_card.refresh_from_db()
    assert store.gift_card.balance == Decimal("100.00") + limit


def test_the_audit_keeps_the_running_totals_of_each_execution() -> None:
    store = store_scenario()
    order = _big_order(store)
    conversation = _conversation()
    for amount in ("40.00", "35.00"):
        _ai(
            "refund_payment",
            {"order_id": order.order_id, "amount": amount, "reason": "late"},
            store,
            conversation,
        )
    entries = list(AuditEntry.objects.filter(kind=AuditEntry.Kind.EXECUTED).order_by("id"))
    assert [e.amount for e in entries] == [Decimal("40.00"), Decimal("35.00")]
    assert entries[-1].order_id == order.order_id
    assert entries[-1].totals == {
        "order": "75.00",
        "conversation": "75.00",
        "customer_day": "75.00",
    }


def test_a_person_approving_counts_against_their_own_sums_not_the_ais() -> None:
    store = store_scenario()
    order = _big_order(store)
    conversation = _conversation()
    args = {"order_id": order.order_id, "amount": "100.00", "reason": "late"}
    assert _ai("refund_payment", args, store, conversation).executed
    # The AI has used its sum on this order; an agent, under theirs, may give more.
    outcome = action_execute(
        actor="agent",
        tool="refund_payment",
        args=args,
        account_id=store.customer.customer_id,
        conversation=conversation,
    )
    assert outcome.executed
