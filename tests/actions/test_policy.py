"""The policy layer, rule by rule, through the public services `action_execute` and
`action_check`: one allowed and one refused case per rule, with the reason codes."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from actions.catalog import TOOLS
from actions.models import AuditEntry, AuthorityLimit
from actions.services import ActionOutcome, action_check, action_execute
from store.models import Customer, Order, Payment, PaymentMethod, Subscription
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    PaymentFactory,
    PaymentMethodFactory,
    ProductFactory,
    Store,
    SubscriptionFactory,
    VariantFactory,
    store_scenario,
    store_snapshot,
)

NEW_ADDRESS = {
    "address1": "1 Summit Road",
    "address2": "",
    "city": "Boulder",
    "state": "CO",
    "country": "USA",
    "zip": "80302",
}


@pytest.fixture
def store(db: None) -> Store:
    return store_scenario()


def execute(
    store: Store,
    tool: str,
    args: dict[str, Any],
    *,
    actor: str = "agent",
    account: Customer | None = None,
    ai_read_only: bool = False,
) -> ActionOutcome:
    return action_execute(
        actor=actor,
        tool=tool,
        args=args,
        account_id=(account or store.customer).customer_id,
        ai_read_only=ai_read_only,
    )


def refused_without_writes(
    store: Store, tool: str, args: dict[str, Any], *, actor: str = "agent", **kwargs: Any
) -> ActionOutcome:
    """Execute an action the test expects to be refused; check it changed no store row."""
    before = store_snapshot()
    outcome = execute(store, tool, args, actor=actor, **kwargs)
    assert outcome.decision.outcome != "allow"
    assert not outcome.executed
    assert store_snapshot() == before
    return outcome


def ids(store: Store, *names: str) -> list[str]:
    return [getattr(store, name).item_id for name in names]


def refunds(order: Order) -> list[tuple[str, Decimal]]:
    return [
        (p.payment_method_id, p.amount)
        for p in Payment.objects.filter(order=order, transaction_type=Payment.Type.REFUND)
    ]


def balance(method: PaymentMethod) -> Decimal:
    method.refresh_from_db()
    return method.balance


def expensive_order(store: Store, price: str = "800.00") -> Order:
    jacket = VariantFactory(product=ProductFactory(name="Down Jacket"), price=Decimal(price))
    return OrderFactory(customer=store.customer, items=[jacket], paid_with=store.card)


# Cancel pending order


@pytest.mark.parametrize("reason", ["no longer needed", "ordered by mistake"])
def test_a_pending_order_can_be_cancelled_for_an_allowed_reason(store: Store, reason: str) -> None:
    outcome = execute(
        store, "cancel_pending_order", {"order_id": store.pending.order_id, "reason": reason}
    )
    assert outcome.decision.outcome == "allow"
    assert outcome.executed
    store.pending.refresh_from_db()
    assert store.pending.status == Order.Status.CANCELLED
    assert store.pending.request == {"cancel_reason": reason}
    assert refunds(store.pending) == [(store.card.method_id, Decimal("220.00"))]


def test_cancelling_refunds_a_gift_card_at_once(store: Store) -> None:
    order = OrderFactory(
        customer=store.customer, items=[store.shirt_red], paid_with=store.gift_card
    )
    outcome = execute(
        store, "cancel_pending_order", {"order_id": order.order_id, "reason": "no longer needed"}
    )
    assert outcome.executed
    assert balance(store.gift_card) == Decimal("160.00")
    assert refunds(order) == [(store.gift_card.method_id, Decimal("60.00"))]
    assert outcome.result["refunded"] == "60.00"


def test_cancelling_is_not_held_to_the_ais_refund_limit(store: Store) -> None:
    # policy.md refunds a cancelled pending order in full; the AI may cancel any total
    # (LIMIT_EXEMPT_REFUNDS), while a refund of the same amount at its discretion needs approval.
    order = expensive_order(store, price="2500.00")
    refund = action_check(
        actor="ai",
        tool="refund_payment",
        args={"order_id": order.order_id, "amount": "2500.00", "reason": "goodwill"},
        account_id=store.customer.customer_id,
    )
    assert refund.outcome == "needs_approval"
    outcome = execute(
        store,
        "cancel_pending_order",
        {"order_id": order.order_id, "reason": "ordered by mistake"},
        actor="ai",
    )
    assert outcome.decision.outcome == "allow"
    assert outcome.decision.refund_amount == Decimal("2500.00")
    assert outcome.executed
    assert refunds(order) == [(store.card.method_id, Decimal("2500.00"))]


def test_a_cancellation_reason_outside_the_two_allowed_is_refused(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "cancel_pending_order",
        {"order_id": store.pending.order_id, "reason": "found it cheaper elsewhere"},
    )
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == ["bad_cancel_reason"]


def test_only_a_pending_order_can_be_cancelled(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "cancel_pending_order",
        {"order_id": store.delivered.order_id, "reason": "no longer needed"},
    )
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == ["wrong_status"]


def test_an_order_that_does_not_exist_cannot_be_cancelled(store: Store) -> None:
    outcome = refused_without_writes(
        store, "cancel_pending_order", {"order_id": "#W0000000", "reason": "no longer needed"}
    )
    assert outcome.decision.reasons == ["order_not_found"]


# Modify pending order address


def test_a_pending_orders_address_can_be_changed(store: Store) -> None:
    outcome = execute(
        store,
        "modify_pending_order_address",
        {"order_id": store.pending.order_id, **NEW_ADDRESS},
    )
    assert outcome.decision.outcome == "allow"
    store.pending.refresh_from_db()
    assert store.pending.address == NEW_ADDRESS
    assert store.pending.status == Order.Status.PENDING


def test_a_delivered_orders_address_cannot_be_changed(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "modify_pending_order_address",
        {"order_id": store.delivered.order_id, **NEW_ADDRESS},
    )
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == ["wrong_status"]


def test_another_customers_order_cannot_be_changed(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "modify_pending_order_address",
        {"order_id": store.other_order.order_id, **NEW_ADDRESS},
    )
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == ["other_customer"]


# Modify pending order items


def test_items_can_be_swapped_once_for_other_options_of_the_same_product(store: Store) -> None:
    args = {
        "order_id": store.pending.order_id,
        "item_ids": ids(store, "shirt_blue", "boots_black"),
        "new_item_ids": ids(store, "shirt_red", "boots_brown"),
        "payment_method_id": store.card.method_id,
    }
    outcome = execute(store, "modify_pending_order_items", args)
    assert outcome.decision.outcome == "allow"
    assert outcome.result["price_difference"] == "20.00"
    store.pending.refresh_from_db()
    assert store.pending.status == Order.Status.PENDING_ITEMS_MODIFIED
    assert store.pending.total == Decimal("240.00")
    assert sorted(store.pending.items.values_list("item_id", flat=True)) == sorted(
        ids(store, "shirt_red", "shirt_blue", "boots_brown")
    )
    assert list(
        store.pending.payments.values_list("transaction_type", "amount", "payment_method_id")
    ) == [
        ("payment", Decimal("220.00"), store.card.method_id),
        ("payment", Decimal("20.00"), store.card.method_id),
    ]

    still_valid_swap = {
        **args,
        "item_ids": ids(store, "shirt_blue"),
        "new_item_ids": ids(store, "shirt_red"),
    }
    again = refused_without_writes(store, "modify_pending_order_items", still_valid_swap)
    assert again.decision.reasons == ["wrong_status"]
    cancel = refused_without_writes(
        store,
        "cancel_pending_order",
        {"order_id": store.pending.order_id, "reason": "no longer needed"},
    )
    assert cancel.decision.reasons == ["wrong_status"]


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (["shirt_blue"], ["boots_brown"], "cross_product"),
        (["shirt_blue"], ["shirt_green"], "item_unavailable"),
        (["shirt_red"], ["shirt_blue"], "item_not_in_order"),
        (["shirt_blue"] * 3, ["shirt_red"] * 3, "item_not_in_order"),
        (["shirt_blue", "shirt_blue"], ["shirt_red"], "count_mismatch"),
    ],
    ids=["other-product", "unavailable", "not-held", "more-than-held", "count"],
)
def test_item_rules_for_modifying_a_pending_order(
    store: Store, old: list[str], new: list[str], reason: str
) -> None:
    outcome = refused_without_writes(
        store,
        "modify_pending_order_items",
        {
            "order_id": store.pending.order_id,
            "item_ids": ids(store, *old),
            "new_item_ids": ids(store, *new),
            "payment_method_id": store.card.method_id,
        },
    )
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == [reason]


def test_a_new_item_that_does_not_exist_is_refused(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "modify_pending_order_items",
        {
            "order_id": store.pending.order_id,
            "item_ids": ids(store, "shirt_blue"),
            "new_item_ids": ["0000000000"],
            "payment_method_id": store.card.method_id,
        },
    )
    assert outcome.decision.reasons == ["item_not_found"]


def test_both_instances_of_an_item_held_twice_can_be_swapped(store: Store) -> None:
    outcome = execute(
        store,
        "modify_pending_order_items",
        {
            "order_id": store.pending.order_id,
            "item_ids": ids(store, "shirt_blue", "shirt_blue"),
            "new_item_ids": ids(store, "shirt_red", "shirt_red"),
            "payment_method_id": store.paypal.method_id,
        },
    )
    assert outcome.decision.outcome == "allow"
    assert sorted(store.pending.items.values_list("item_id", flat=True)) == sorted(
        ids(store, "shirt_red", "shirt_red", "boots_black")
    )


def test_the_price_difference_must_be_paid_from_the_customers_own_profile(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "modify_pending_order_items",
        {
            "order_id": store.pending.order_id,
            "item_ids": ids(store, "shirt_blue"),
            "new_item_ids": ids(store, "shirt_red"),
            "payment_method_id": store.other_card.method_id,
        },
    )
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == ["payment_method_not_owned"]


def test_a_gift_card_pays_a_price_difference_it_covers(store: Store) -> None:
    outcome = execute(
        store,
        "modify_pending_order_items",
        {
            "order_id": store.pending.order_id,
            "item_ids": ids(store, "shirt_blue"),
            "new_item_ids": ids(store, "shirt_red"),
            "payment_method_id": store.gift_card.method_id,
        },
    )
    assert outcome.decision.outcome == "allow"
    assert balance(store.gift_card) == Decimal("90.00")


def test_a_gift_card_must_cover_a_positive_price_difference(store: Store) -> None:
    PaymentMethod.objects.filter(pk=store.gift_card.pk).update(balance=Decimal("9.99"))
    outcome = refused_without_writes(
        store,
        "modify_pending_order_items",
        {
            "order_id": store.pending.order_id,
            "item_ids": ids(store, "shirt_blue"),
            "new_item_ids": ids(store, "shirt_red"),
            "payment_method_id": store.gift_card.method_id,
        },
    )
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == ["insufficient_gift_card_balance"]


def test_an_empty_gift_card_can_receive_a_negative_price_difference(store: Store) -> None:
    empty = PaymentMethodFactory(customer=store.customer, gift_card=True, balance=Decimal(0))
    order = OrderFactory(customer=store.customer, items=[store.shirt_red], paid_with=store.card)
    outcome = execute(
        store,
        "modify_pending_order_items",
        {
            "order_id": order.order_id,
            "item_ids": ids(store, "shirt_red"),
            "new_item_ids": ids(store, "shirt_blue"),
            "payment_method_id": empty.method_id,
        },
    )
    assert outcome.decision.outcome == "allow"
    assert balance(empty) == Decimal("10.00")
    assert refunds(order) == [(empty.method_id, Decimal("10.00"))]


# Modify pending order payment


def test_a_pending_order_can_be_paid_with_another_method(store: Store) -> None:
    outcome = execute(
        store,
        "modify_pending_order_payment",
        {"order_id": store.pending.order_id, "payment_method_id": store.paypal.method_id},
    )
    assert outcome.decision.outcome == "allow"
    store.pending.refresh_from_db()
    assert store.pending.status == Order.Status.PENDING
    assert list(
        store.pending.payments.values_list("transaction_type", "amount", "payment_method_id")
    ) == [
        ("payment", Decimal("220.00"), store.card.method_id),
        ("payment", Decimal("220.00"), store.paypal.method_id),
        ("refund", Decimal("220.00"), store.card.method_id),
    ]


def test_the_new_payment_method_must_differ_from_the_original(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "modify_pending_order_payment",
        {"order_id": store.pending.order_id, "payment_method_id": store.card.method_id},
    )
    assert outcome.decision.reasons == ["same_payment_method"]


def test_an_order_with_more_than_one_payment_keeps_its_payment_method(store: Store) -> None:
    PaymentFactory(order=store.pending, payment_method_id=store.paypal.method_id)
    outcome = refused_without_writes(
        store,
        "modify_pending_order_payment",
        {"order_id": store.pending.order_id, "payment_method_id": store.gift_card.method_id},
    )
    assert outcome.decision.reasons == ["multiple_payments"]


def test_a_new_payment_method_must_be_the_customers_own(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "modify_pending_order_payment",
        {"order_id": store.pending.order_id, "payment_method_id": store.other_card.method_id},
    )
    assert outcome.decision.reasons == ["payment_method_not_owned"]


def test_a_gift_card_must_cover_the_whole_order_to_pay_for_it(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "modify_pending_order_payment",
        {"order_id": store.pending.order_id, "payment_method_id": store.gift_card.method_id},
    )
    assert outcome.decision.reasons == ["insufficient_gift_card_balance"]

    PaymentMethod.objects.filter(pk=store.gift_card.pk).update(balance=Decimal("220.00"))
    outcome = execute(
        store,
        "modify_pending_order_payment",
        {"order_id": store.pending.order_id, "payment_method_id": store.gift_card.method_id},
    )
    assert outcome.decision.outcome == "allow"
    assert balance(store.gift_card) == Decimal("0.00")


def test_a_delivered_orders_payment_cannot_change(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "modify_pending_order_payment",
        {"order_id": store.delivered.order_id, "payment_method_id": store.paypal.method_id},
    )
    assert outcome.decision.reasons == ["wrong_status"]


# Return delivered order items


@pytest.mark.parametrize("refund_to", ["card", "gift_card"])
def test_a_delivered_order_returns_to_the_original_method_or_a_gift_card(
    store: Store, refund_to: str
) -> None:
    method = getattr(store, refund_to)
    outcome = execute(
        store,
        "return_delivered_order_items",
        {
            "order_id": store.delivered.order_id,
            "item_ids": ids(store, "shirt_blue"),
            "payment_method_id": method.method_id,
        },
    )
    assert outcome.decision.outcome == "allow"
    assert outcome.decision.refund_amount == Decimal("50.00")
    store.delivered.refresh_from_db()
    assert store.delivered.status == Order.Status.RETURN_REQUESTED
    assert store.delivered.request == {
        "return_items": ids(store, "shirt_blue"),
        "refund_payment_method_id": method.method_id,
        "refund_amount": "50.00",
    }


def test_a_return_cannot_be_refunded_to_another_non_gift_card_method(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "return_delivered_order_items",
        {
            "order_id": store.delivered.order_id,
            "item_ids": ids(store, "shirt_blue"),
            "payment_method_id": store.paypal.method_id,
        },
    )
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == ["refund_method_not_allowed"]


@pytest.mark.parametrize(
    ("order", "items", "reason"),
    [
        ("pending", ["shirt_blue"], "wrong_status"),
        ("delivered", ["shirt_red"], "item_not_in_order"),
        ("delivered", ["shirt_blue", "shirt_blue"], "item_not_in_order"),
    ],
)
def test_return_rules(store: Store, order: str, items: list[str], reason: str) -> None:
    outcome = refused_without_writes(
        store,
        "return_delivered_order_items",
        {
            "order_id": getattr(store, order).order_id,
            "item_ids": ids(store, *items),
            "payment_method_id": store.card.method_id,
        },
    )
    assert outcome.decision.reasons == [reason]


def test_a_return_cannot_be_refunded_to_another_customers_gift_card(store: Store) -> None:
    foreign = PaymentMethodFactory(customer=store.other_customer, gift_card=True)
    outcome = refused_without_writes(
        store,
        "return_delivered_order_items",
        {
            "order_id": store.delivered.order_id,
            "item_ids": ids(store, "shirt_blue"),
            "payment_method_id": foreign.method_id,
        },
    )
    assert outcome.decision.reasons == ["payment_method_not_owned"]


# Exchange delivered order items


def test_a_delivered_order_can_be_exchanged_for_other_options(store: Store) -> None:
    outcome = execute(
        store,
        "exchange_delivered_order_items",
        {
            "order_id": store.delivered.order_id,
            "item_ids": ids(store, "shirt_blue", "boots_black"),
            "new_item_ids": ids(store, "shirt_red", "boots_brown"),
            "payment_method_id": store.gift_card.method_id,
        },
    )
    assert outcome.decision.outcome == "allow"
    store.delivered.refresh_from_db()
    assert store.delivered.status == Order.Status.EXCHANGE_REQUESTED
    assert store.delivered.request["price_difference"] == "20.00"


@pytest.mark.parametrize(
    ("order", "old", "new", "reason"),
    [
        ("pending", ["shirt_blue"], ["shirt_red"], "wrong_status"),
        ("delivered", ["shirt_blue"], ["boots_brown"], "cross_product"),
        ("delivered", ["shirt_blue"], ["shirt_green"], "item_unavailable"),
        ("delivered", ["shirt_red"], ["shirt_blue"], "item_not_in_order"),
        ("delivered", ["shirt_blue", "shirt_blue"], ["shirt_red"] * 2, "item_not_in_order"),
        ("delivered", ["shirt_blue", "boots_black"], ["shirt_red"], "count_mismatch"),
    ],
    ids=["pending", "other-product", "unavailable", "not-held", "more-than-held", "count"],
)
def test_exchange_rules(
    store: Store, order: str, old: list[str], new: list[str], reason: str
) -> None:
    outcome = refused_without_writes(
        store,
        "exchange_delivered_order_items",
        {
            "order_id": getattr(store, order).order_id,
            "item_ids": ids(store, *old),
            "new_item_ids": ids(store, *new),
            "payment_method_id": store.card.method_id,
        },
    )
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == [reason]


def test_an_exchange_paid_by_gift_card_needs_the_balance(store: Store) -> None:
    PaymentMethod.objects.filter(pk=store.gift_card.pk).update(balance=Decimal("5.00"))
    outcome = refused_without_writes(
        store,
        "exchange_delivered_order_items",
        {
            "order_id": store.delivered.order_id,
            "item_ids": ids(store, "shirt_blue"),
            "new_item_ids": ids(store, "shirt_red"),
            "payment_method_id": store.gift_card.method_id,
        },
    )
    assert outcome.decision.reasons == ["insufficient_gift_card_balance"]


# Modify user address


def test_the_conversations_customer_can_change_their_address(store: Store) -> None:
    outcome = execute(
        store, "modify_user_address", {"user_id": store.customer.customer_id, **NEW_ADDRESS}
    )
    assert outcome.decision.outcome == "allow"
    store.customer.refresh_from_db()
    assert store.customer.address == NEW_ADDRESS
    assert store.customer.zip == "80302"


def test_another_customers_address_cannot_be_changed(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "modify_user_address",
        {"user_id": store.other_customer.customer_id, **NEW_ADDRESS},
    )
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == ["other_customer"]


# Refund payment


def test_a_refund_goes_to_the_original_payment_method(store: Store) -> None:
    outcome = execute(
        store,
        "refund_payment",
        {"order_id": store.delivered.order_id, "amount": "70.00", "reason": "late delivery"},
    )
    assert outcome.decision.outcome == "allow"
    assert refunds(store.delivered) == [(store.card.method_id, Decimal("70.00"))]


def test_a_refund_cannot_exceed_what_was_paid_and_not_yet_refunded(store: Store) -> None:
    args = {"order_id": store.delivered.order_id, "reason": "damaged"}
    over = refused_without_writes(store, "refund_payment", {**args, "amount": "170.01"})
    assert over.decision.outcome == "deny"
    assert over.decision.reasons == ["refund_exceeds_paid"]

    assert execute(store, "refund_payment", {**args, "amount": "150.00"}).executed
    rest = refused_without_writes(store, "refund_payment", {**args, "amount": "20.01"})
    assert rest.decision.reasons == ["refund_exceeds_paid"]
    assert execute(store, "refund_payment", {**args, "amount": "20.00"}).executed


def full_refund(store: Store, order: Order) -> None:
    args = {"order_id": order.order_id, "amount": str(order.total), "reason": "goodwill"}
    assert execute(store, "refund_payment", args, actor="supervisor").executed


def test_a_fully_refunded_order_cannot_be_returned(store: Store) -> None:
    full_refund(store, store.delivered)
    outcome = refused_without_writes(
        store,
        "return_delivered_order_items",
        {
            "order_id": store.delivered.order_id,
            "item_ids": ids(store, "shirt_blue"),
            "payment_method_id": store.gift_card.method_id,
        },
        actor="supervisor",
    )
    assert (outcome.decision.outcome, outcome.decision.reasons) == ("deny", ["refund_exceeds_paid"])


def test_a_partly_refunded_order_returns_only_up_to_the_rest(store: Store) -> None:
    args = {"order_id": store.delivered.order_id, "reason": "late"}
    assert execute(store, "refund_payment", {**args, "amount": "100.00"}).executed
    both = refused_without_writes(
        store,
        "return_delivered_order_items",
        {
            "order_id": store.delivered.order_id,
            "item_ids": ids(store, "shirt_blue", "boots_black"),
            "payment_method_id": store.card.method_id,
        },
    )
    assert both.decision.reasons == ["refund_exceeds_paid"]
    shirt = execute(
        store,
        "return_delivered_order_items",
        {
            "order_id": store.delivered.order_id,
            "item_ids": ids(store, "shirt_blue"),
            "payment_method_id": store.card.method_id,
        },
    )
    assert shirt.executed


def test_a_requested_return_counts_against_later_refunds(store: Store) -> None:
    returned = execute(
        store,
        "return_delivered_order_items",
        {
            "order_id": store.delivered.order_id,
            "item_ids": ids(store, "boots_black"),
            "payment_method_id": store.card.method_id,
        },
    )
    assert returned.executed
    args = {"order_id": store.delivered.order_id, "reason": "late"}
    over = refused_without_writes(store, "refund_payment", {**args, "amount": "50.01"})
    assert over.decision.reasons == ["refund_exceeds_paid"]
    assert execute(store, "refund_payment", {**args, "amount": "50.00"}).executed


def test_a_cheaper_item_cannot_refund_a_fully_refunded_order(store: Store) -> None:
    order = OrderFactory(customer=store.customer, items=[store.shirt_red], paid_with=store.card)
    full_refund(store, order)
    outcome = refused_without_writes(
        store,
        "modify_pending_order_items",
        {
            "order_id": order.order_id,
            "item_ids": ids(store, "shirt_red"),
            "new_item_ids": ids(store, "shirt_blue"),
            "payment_method_id": store.gift_card.method_id,
        },
    )
    assert outcome.decision.reasons == ["refund_exceeds_paid"]


def test_a_cheaper_exchange_cannot_refund_a_fully_refunded_order(store: Store) -> None:
    order = OrderFactory(
        customer=store.customer,
        status=Order.Status.DELIVERED,
        items=[store.boots_brown],
        paid_with=store.card,
    )
    full_refund(store, order)
    outcome = refused_without_writes(
        store,
        "exchange_delivered_order_items",
        {
            "order_id": order.order_id,
            "item_ids": ids(store, "boots_brown"),
            "new_item_ids": ids(store, "boots_black"),
            "payment_method_id": store.card.method_id,
        },
    )
    assert outcome.decision.reasons == ["refund_exceeds_paid"]


def test_a_requested_cheaper_exchange_counts_against_later_refunds(store: Store) -> None:
    order = OrderFactory(
        customer=store.customer,
        status=Order.Status.DELIVERED,
        items=[store.boots_brown],
        paid_with=store.card,
    )
    exchanged = execute(
        store,
        "exchange_delivered_order_items",
        {
            "order_id": order.order_id,
            "item_ids": ids(store, "boots_brown"),
            "new_item_ids": ids(store, "boots_black"),
            "payment_method_id": store.card.method_id,
        },
    )
    assert exchanged.executed
    args = {"order_id": order.order_id, "reason": "late"}
    over = refused_without_writes(store, "refund_payment", {**args, "amount": "120.01"})
    assert over.decision.reasons == ["refund_exceeds_paid"]
    assert execute(store, "refund_payment", {**args, "amount": "120.00"}).executed


@pytest.mark.parametrize(
    ("actor", "amount", "outcome", "approver"),
    [
        ("ai", "100.00", "allow", None),
        ("ai", "150.00", "needs_approval", "agent"),
        ("ai", "700.00", "needs_approval", "supervisor"),
        ("agent", "500.00", "allow", None),
        ("agent", "700.00", "needs_approval", "supervisor"),
        ("supervisor", "800.00", "allow", None),
    ],
)
def test_refund_authority_limits(
    store: Store, actor: str, amount: str, outcome: str, approver: str | None
) -> None:
    order = expensive_order(store)
    args = {"order_id": order.order_id, "amount": amount, "reason": "goodwill"}
    checked = action_check(
        actor=actor, tool="refund_payment", args=args, account_id=store.customer.customer_id
    )
    assert checked.outcome == outcome
    assert checked.approver == approver
    assert checked.reasons == ([] if outcome == "allow" else ["over_authority_limit"])

    if outcome == "allow":
        assert execute(store, "refund_payment", args, actor=actor).executed
        assert refunds(order) == [(store.card.method_id, Decimal(amount))]
    else:
        executed = refused_without_writes(store, "refund_payment", args, actor=actor)
        assert (executed.decision.outcome, executed.decision.approver) == (outcome, approver)


def test_authority_limits_are_data_an_admin_edits(store: Store) -> None:
    args = {"order_id": store.pending.order_id, "amount": "150.00", "reason": "goodwill"}
    account = store.customer.customer_id
    before = action_check(actor="ai", tool="refund_payment", args=args, account_id=account)
    assert before.outcome == "needs_approval"
    AuthorityLimit.objects.filter(actor="ai").update(
        max_refund=Decimal("200.00"), max_refund_per_order=Decimal("200.00")
    )
    after = action_check(actor="ai", tool="refund_payment", args=args, account_id=account)
    assert after.outcome == "allow"


def test_a_refund_bigger_than_anyone_may_approve_is_denied(store: Store) -> None:
    AuthorityLimit.objects.filter(actor="supervisor").update(max_refund=Decimal("600.00"))
    order = expensive_order(store)
    outcome = refused_without_writes(
        store,
        "refund_payment",
        {"order_id": order.order_id, "amount": "700.00", "reason": "goodwill"},
    )
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == ["over_authority_limit"]


# Refund subscription


def test_the_ai_refunds_a_recent_subscription(store: Store) -> None:
    outcome = execute(
        store,
        "refund_subscription",
        {"subscription_id": store.subscription.subscription_id, "reason": "did not use it"},
        actor="ai",
    )
    assert outcome.decision.outcome == "allow"
    store.subscription.refresh_from_db()
    assert store.subscription.status == Subscription.Status.REFUNDED


def test_the_ai_may_not_refund_a_subscription_older_than_30_days(store: Store) -> None:
    old = SubscriptionFactory(
        customer=store.customer, started_at=timezone.now() - timedelta(days=31)
    )
    args = {"subscription_id": old.subscription_id, "reason": "did not use it"}
    outcome = refused_without_writes(store, "refund_subscription", args, actor="ai")
    assert outcome.decision.outcome == "needs_approval"
    assert outcome.decision.approver == "agent"
    assert outcome.decision.reasons == ["subscription_too_old"]

    assert execute(store, "refund_subscription", args, actor="agent").executed


def test_a_subscription_refund_credits_a_gift_card_at_once(store: Store) -> None:
    subscription = SubscriptionFactory(
        customer=store.customer, payment_method_id=store.gift_card.method_id
    )
    execute(
        store,
        "refund_subscription",
        {"subscription_id": subscription.subscription_id, "reason": "did not use it"},
    )
    assert balance(store.gift_card) == Decimal("120.00")


def test_a_refunded_subscription_cannot_be_refunded_again(store: Store) -> None:
    args = {"subscription_id": store.subscription.subscription_id, "reason": "did not use it"}
    assert execute(store, "refund_subscription", args).executed
    outcome = refused_without_writes(store, "refund_subscription", args)
    assert outcome.decision.reasons == ["subscription_not_active"]


def test_another_customers_subscription_cannot_be_refunded(store: Store) -> None:
    theirs = SubscriptionFactory(customer=store.other_customer)
    outcome = refused_without_writes(
        store,
        "refund_subscription",
        {"subscription_id": theirs.subscription_id, "reason": "did not use it"},
    )
    assert outcome.decision.reasons == ["other_customer"]


# Issue store credit


def test_store_credit_tops_up_the_customers_gift_card(store: Store) -> None:
    outcome = execute(
        store,
        "issue_store_credit",
        {"user_id": store.customer.customer_id, "amount": "25.00", "reason": "goodwill"},
        actor="ai",
    )
    assert outcome.decision.outcome == "allow"
    assert balance(store.gift_card) == Decimal("125.00")


def test_store_credit_opens_a_gift_card_for_a_customer_without_one(store: Store) -> None:
    customer = CustomerFactory()
    outcome = execute(
        store,
        "issue_store_credit",
        {"user_id": customer.customer_id, "amount": "25.00", "reason": "goodwill"},
        account=customer,
    )
    assert outcome.executed
    card = PaymentMethod.objects.get(customer=customer)
    assert (card.source, card.balance) == (PaymentMethod.Source.GIFT_CARD, Decimal("25.00"))


def test_store_credit_over_the_ais_limit_needs_an_agent(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "issue_store_credit",
        {"user_id": store.customer.customer_id, "amount": "100.01", "reason": "goodwill"},
        actor="ai",
    )
    assert (outcome.decision.outcome, outcome.decision.approver) == ("needs_approval", "agent")
    assert outcome.decision.reasons == ["over_authority_limit"]


def test_store_credit_for_another_customer_is_refused(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "issue_store_credit",
        {"user_id": store.other_customer.customer_id, "amount": "5.00", "reason": "goodwill"},
    )
    assert outcome.decision.reasons == ["other_customer"]


# AI read-only after a prompt-injection flag


def valid_args(store: Store) -> dict[str, dict[str, Any]]:
    """Arguments every tool would be allowed with, for an agent, in the store."""
    pending, delivered = store.pending.order_id, store.delivered.order_id
    user = store.customer.customer_id
    return {
        "find_user_id_by_email": {"email": store.customer.email},
        "find_user_id_by_name_zip": {
            "first_name": store.customer.first_name,
            "last_name": store.customer.last_name,
            "zip": store.customer.zip,
        },
        "get_user_details": {"user_id": user},
        "get_order_details": {"order_id": pending},
        "get_product_details": {"product_id": store.shirt_blue.product.product_id},
        "list_user_orders": {"user_id": user},
        "cancel_pending_order": {"order_id": pending, "reason": "no longer needed"},
        "modify_pending_order_address": {"order_id": pending, **NEW_ADDRESS},
        "modify_pending_order_items": {
            "order_id": pending,
            "item_ids": ids(store, "shirt_blue"),
            "new_item_ids": ids(store, "shirt_red"),
            "payment_method_id": store.card.method_id,
        },
        "modify_pending_order_payment": {
            "order_id": pending,
            "payment_method_id": store.paypal.method_id,
        },
        "return_delivered_order_items": {
            "order_id": delivered,
            "item_ids": ids(store, "shirt_blue"),
            "payment_method_id": store.card.method_id,
        },
        "exchange_delivered_order_items": {
            "order_id": delivered,
            "item_ids": ids(store, "shirt_blue"),
            "new_item_ids": ids(store, "shirt_red"),
            "payment_method_id": store.card.method_id,
        },
        "modify_user_address": {"user_id": user, **NEW_ADDRESS},
        "refund_payment": {"order_id": delivered, "amount": "10.00", "reason": "late"},
        "issue_store_credit": {"user_id": user, "amount": "10.00", "reason": "late"},
        "refund_subscription": {
            "subscription_id": store.subscription.subscription_id,
            "reason": "unused",
        },
        "resend_confirmation": {"order_id": pending},
    }


def test_valid_args_cover_the_whole_catalog(store: Store) -> None:
    assert set(valid_args(store)) == set(TOOLS)


@pytest.mark.parametrize("tool", sorted(name for name, t in TOOLS.items() if t.consequential))
def test_a_flagged_conversation_leaves_the_ai_read_only(store: Store, tool: str) -> None:
    args = valid_args(store)[tool]
    account = store.customer.customer_id
    assert action_check(actor="ai", tool=tool, args=args, account_id=account).outcome == "allow"

    flagged = refused_without_writes(store, tool, args, actor="ai", ai_read_only=True)
    assert flagged.decision.outcome == "deny"
    assert flagged.decision.reasons == ["ai_read_only"]
    human = action_check(actor="agent", tool=tool, args=args, account_id=account, ai_read_only=True)
    assert human.outcome == "allow"


@pytest.mark.parametrize("tool", sorted(name for name, t in TOOLS.items() if not t.consequential))
def test_a_read_only_ai_may_still_read(store: Store, tool: str) -> None:
    decision = action_check(
        actor="ai",
        tool=tool,
        args=valid_args(store)[tool],
        account_id=store.customer.customer_id,
        ai_read_only=True,
    )
    assert decision.outcome == "allow"


@pytest.mark.parametrize(
    ("tool", "args", "reason"),
    [
        ("get_user_details", {"user_id": "other"}, "other_customer"),
        ("get_order_details", {"order_id": "other"}, "other_customer"),
        ("list_user_orders", {"user_id": "other"}, "other_customer"),
        ("get_order_details", {"order_id": "#W9999999"}, "order_not_found"),
        ("get_product_details", {"product_id": "9999999999"}, "product_not_found"),
    ],
)
def test_checking_a_read_decides_as_running_it_does(
    store: Store, tool: str, args: dict[str, Any], reason: str
) -> None:
    other = {"user_id": store.other_customer.customer_id, "order_id": store.other_order.order_id}
    args = {
        key: other.get(key, value) if value == "other" else value for key, value in args.items()
    }
    account = store.customer.customer_id
    checked = action_check(actor="ai", tool=tool, args=args, account_id=account)
    executed = execute(store, tool, args, actor="ai")
    assert (checked.outcome, checked.reasons) == ("deny", [reason])
    assert (executed.decision.outcome, executed.decision.reasons) == ("deny", [reason])


def test_an_ai_without_write_authority_is_read_only(store: Store) -> None:
    AuthorityLimit.objects.filter(actor="ai").update(may_write=False)
    outcome = refused_without_writes(
        store, "modify_user_address", valid_args(store)["modify_user_address"], actor="ai"
    )
    assert outcome.decision.reasons == ["read_only_actor"]


# Anything malformed is denied


def test_an_unknown_tool_is_denied(store: Store) -> None:
    outcome = refused_without_writes(store, "delete_all_orders", {})
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == ["unknown_tool"]


@pytest.mark.parametrize(
    "args",
    [
        {"reason": "goodwill", "amount": "10.00"},
        {"order_id": "X", "amount": "-5.00", "reason": "goodwill"},
        {"order_id": "X", "amount": "0", "reason": "goodwill"},
        {"order_id": "X", "amount": "10.001", "reason": "goodwill"},
        {"order_id": "X", "amount": "ten", "reason": "goodwill"},
        {"order_id": "X", "amount": "10.00", "reason": "goodwill", "approved_by": "supervisor"},
    ],
    ids=["missing", "negative", "zero", "sub-cent", "not-a-number", "extra-field"],
)
def test_invalid_arguments_are_denied(store: Store, args: dict[str, Any]) -> None:
    args = {k: (store.delivered.order_id if v == "X" else v) for k, v in args.items()}
    outcome = refused_without_writes(store, "refund_payment", args)
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == ["invalid_args"]


@pytest.mark.parametrize(
    ("tool", "field", "value"),
    [
        ("cancel_pending_order", "order_id", "#W\x000000001"),
        ("cancel_pending_order", "reason", "no longer needed\x00"),
        ("refund_payment", "reason", "late\x07"),
        ("modify_pending_order_address", "address1", "1 Summit\nRoad"),
        ("modify_user_address", "zip", "80302\x00"),
        ("find_user_id_by_email", "email", "a\x00b@example.com"),
        ("find_user_id_by_name_zip", "last_name", "Brown\x1b"),
        ("get_order_details", "order_id", "#W\x85"),
        ("modify_pending_order_items", "new_item_ids", ["1\x00"]),
    ],
)
def test_control_characters_are_invalid_args(
    store: Store, tool: str, field: str, value: Any
) -> None:
    args = {**valid_args(store)[tool], field: value}
    outcome = refused_without_writes(store, tool, args)
    assert outcome.decision.reasons == ["invalid_args"]
    entry = AuditEntry.objects.get()
    assert "\\u0000" not in json.dumps(entry.args)
    assert set(entry.args) == set(args)


def test_a_reason_may_run_over_lines(store: Store) -> None:
    args = {"order_id": store.delivered.order_id, "amount": "10.00", "reason": "late\n\tand cold"}
    assert execute(store, "refund_payment", args).executed


def test_an_unknown_conversation_customer_is_denied(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "cancel_pending_order",
        {"order_id": store.pending.order_id, "reason": "no longer needed"},
        account=Customer(customer_id="nobody_0000"),
    )
    assert outcome.decision.reasons == ["customer_not_found"]


def test_the_ai_must_have_an_authenticated_customer_to_act(store: Store) -> None:
    outcome = action_execute(
        actor="ai",
        tool="cancel_pending_order",
        args={"order_id": store.other_order.order_id, "reason": "no longer needed"},
        account_id=None,
    )
    assert outcome.decision.outcome == "deny"
    assert outcome.decision.reasons == ["not_authenticated"]
    store.other_order.refresh_from_db()
    assert store.other_order.status == Order.Status.PENDING


# What the services write


def test_a_denied_action_writes_only_a_denied_audit_entry(store: Store) -> None:
    outcome = refused_without_writes(
        store,
        "cancel_pending_order",
        {"order_id": store.delivered.order_id, "reason": "no longer needed"},
    )
    assert outcome.decision.outcome == "deny"
    entry = AuditEntry.objects.get()
    assert (entry.kind, entry.tool, entry.decision, entry.reasons) == (
        AuditEntry.Kind.DENIED,
        "cancel_pending_order",
        "deny",
        ["wrong_status"],
    )
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.EXECUTED).exists()


def test_an_executed_action_writes_an_executed_audit_entry(store: Store) -> None:
    args = {"order_id": store.pending.order_id, "reason": "ordered by mistake"}
    execute(store, "cancel_pending_order", args, actor="ai")
    entry = AuditEntry.objects.get()
    assert (entry.kind, entry.actor, entry.tool, entry.args, entry.decision) == (
        AuditEntry.Kind.EXECUTED,
        "ai",
        "cancel_pending_order",
        args,
        "allow",
    )
    assert entry.customer_id == store.customer.customer_id


def test_checking_an_action_writes_nothing(store: Store) -> None:
    before = store_snapshot()
    decision = action_check(
        actor="ai",
        tool="cancel_pending_order",
        args={"order_id": store.pending.order_id, "reason": "no longer needed"},
        account_id=store.customer.customer_id,
    )
    assert decision.outcome == "allow"
    assert store_snapshot() == before
    assert not AuditEntry.objects.exists()


# Known bugs: each test states the behaviour the policy promises and fails today.


def test_cancelling_after_a_partial_refund_refunds_only_the_rest(store: Store) -> None:
    order_id = store.pending.order_id
    execute(store, "refund_payment", {"order_id": order_id, "amount": "50.00", "reason": "late"})
    execute(store, "cancel_pending_order", {"order_id": order_id, "reason": "no longer needed"})
    assert sum(amount for _, amount in refunds(store.pending)) == Decimal("220.00")


def test_cancelling_after_a_payment_change_credits_the_old_gift_card_once(store: Store) -> None:
    order = OrderFactory(
        customer=store.customer, items=[store.shirt_red], paid_with=store.gift_card
    )
    execute(
        store,
        "modify_pending_order_payment",
        {"order_id": order.order_id, "payment_method_id": store.card.method_id},
    )
    assert balance(store.gift_card) == Decimal("160.00")
    execute(
        store, "cancel_pending_order", {"order_id": order.order_id, "reason": "no longer needed"}
    )
    assert balance(store.gift_card) == Decimal("160.00")


def test_a_refund_after_a_payment_change_goes_to_the_method_now_paying(store: Store) -> None:
    order = OrderFactory(
        customer=store.customer, items=[store.shirt_red], paid_with=store.gift_card
    )
    execute(
        store,
        "modify_pending_order_payment",
        {"order_id": order.order_id, "payment_method_id": store.card.method_id},
    )
    execute(store, "refund_payment", {"order_id": order.order_id, "amount": "60.00", "reason": "x"})
    assert refunds(order)[-1] == (store.card.method_id, Decimal("60.00"))


def test_the_ai_may_not_refund_a_subscription_a_few_hours_past_30_days(store: Store) -> None:
    old = SubscriptionFactory(
        customer=store.customer, started_at=timezone.now() - timedelta(days=30, hours=12)
    )
    decision = action_check(
        actor="ai",
        tool="refund_subscription",
        args={"subscription_id": old.subscription_id, "reason": "unused"},
        account_id=store.customer.customer_id,
    )
    assert decision.outcome == "needs_approval"


def test_an_agent_without_write_authority_is_refused(store: Store) -> None:
    AuthorityLimit.objects.filter(actor="agent").update(may_write=False)
    outcome = execute(store, "modify_user_address", valid_args(store)["modify_user_address"])
    assert outcome.decision.outcome == "deny"


def test_resending_a_confirmation_emails_the_customer_after_commit(
    store: Store, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        outcome = action_execute(
            actor="ai",
            tool="resend_confirmation",
            args={"order_id": store.pending.order_id},
            account_id=store.customer.customer_id,
        )
    assert outcome.executed
    [mail] = mailoutbox
    assert mail.to == [store.customer.email]
    assert store.pending.order_id in mail.subject
    assert str(store.pending.total) in mail.body
