"""Property tests: random sequences of actions by random actors keep the store's invariants.

Each example builds its own small store inside a savepoint and rolls it back, so examples do
not see each other's rows. Action arguments are drawn as indices and resolved against the
store as it is when the action runs, so later actions see what earlier ones changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from actions.models import AuditEntry
from actions.services import action_execute
from store.models import Customer, Order, Payment, PaymentMethod, Variant
from tests.factories import OrderFactory, PaymentMethodFactory, store_scenario, store_snapshot

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ACTORS = st.sampled_from(["ai", "agent", "supervisor"])
INDEX = st.integers(min_value=0, max_value=20)
ORDER = st.integers(min_value=0, max_value=6)
METHOD = st.integers(min_value=0, max_value=4)
AMOUNTS = st.one_of(
    st.sampled_from(
        [Decimal(a) for a in ("10", "50", "100", "100.01", "150", "220", "500", "700")]
    ),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("900"), places=2),
)
# A swap: which held item, whether the new one is another option of the same product (mostly),
# and which option or variant.
SWAPS = st.lists(
    st.tuples(INDEX, st.sampled_from([True, True, True, False]), INDEX), min_size=1, max_size=3
)
CANCEL_REASONS = ["no longer needed", "ordered by mistake", "found it cheaper"]

MONEY_ACTIONS = [
    st.tuples(
        st.just("refund_payment"), st.fixed_dictionaries({"order": ORDER, "amount": AMOUNTS})
    ),
    st.tuples(
        st.just("modify_pending_order_items"),
        st.fixed_dictionaries({"order": ORDER, "swaps": SWAPS, "method": METHOD}),
    ),
    st.tuples(
        st.just("modify_pending_order_payment"),
        st.fixed_dictionaries({"order": ORDER, "method": METHOD}),
    ),
    st.tuples(
        st.just("return_delivered_order_items"),
        st.fixed_dictionaries(
            {"order": ORDER, "items": st.lists(INDEX, min_size=1, max_size=3), "method": METHOD}
        ),
    ),
    st.tuples(
        st.just("exchange_delivered_order_items"),
        st.fixed_dictionaries({"order": ORDER, "swaps": SWAPS, "method": METHOD}),
    ),
    st.tuples(
        st.just("issue_store_credit"),
        st.fixed_dictionaries({"user": st.integers(0, 1), "amount": AMOUNTS}),
    ),
]
CANCEL = st.tuples(
    st.just("cancel_pending_order"),
    st.fixed_dictionaries({"order": ORDER, "reason": st.sampled_from(CANCEL_REASONS)}),
)

WITHOUT_CANCEL = st.lists(st.tuples(ACTORS, st.one_of(*MONEY_ACTIONS)), max_size=8)
WITH_CANCEL = st.lists(st.tuples(ACTORS, st.one_of(CANCEL, *MONEY_ACTIONS)), max_size=8)
GIFT_CARD_BALANCES = st.decimals(min_value=Decimal("0"), max_value=Decimal("150"), places=2)


@dataclass
class World:
    customer: Customer
    customers: list[Customer]
    orders: list[Order]
    methods: list[PaymentMethod]
    variants: list[Variant]

    @property
    def product_of(self) -> dict[str, Variant]:
        return {v.item_id: v for v in self.variants}


def world_build(*, gift_card_balance: Decimal) -> World:
    s = store_scenario(gift_card_balance=gift_card_balance)
    second_gift_card = PaymentMethodFactory(
        customer=s.customer, gift_card=True, balance=Decimal("20.00")
    )
    orders = [
        s.pending,
        s.delivered,
        OrderFactory(
            customer=s.customer, items=[s.shirt_red, s.boots_brown], paid_with=s.gift_card
        ),
        OrderFactory(customer=s.customer, items=[s.shirt_blue], paid_with=s.paypal),
        OrderFactory(customer=s.customer, items=[s.boots_black], paid_with=second_gift_card),
        OrderFactory(
            customer=s.customer,
            status=Order.Status.DELIVERED,
            items=[s.boots_brown, s.shirt_red, s.shirt_red],
            paid_with=s.gift_card,
        ),
        s.other_order,
    ]
    return World(
        customer=s.customer,
        customers=[s.customer, s.other_customer],
        orders=orders,
        methods=[s.card, s.paypal, s.gift_card, second_gift_card, s.other_card],
        variants=[s.shirt_blue, s.shirt_red, s.shirt_green, s.boots_black, s.boots_brown],
    )


def pick(values: list[Any], index: int) -> Any:
    return values[index % len(values)]


def held_take(held: list[str], position: int) -> str:
    """One of the held items, each held row at most once (an exhausted list repeats the last,
    which the policy then refuses as item_not_in_order)."""
    if not held:
        return "0000000000"
    return held.pop(position % len(held)) if len(held) > 1 else held[0]


def args_resolve(world: World, tool: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Turn drawn indices into the tool's arguments, against the store as it is now."""
    if tool == "issue_store_credit":
        customer = pick(world.customers, spec["user"])
        return {"user_id": customer.customer_id, "amount": f"{spec['amount']:.2f}", "reason": "x"}
    order = pick(world.orders, spec["order"])
    args: dict[str, Any] = {"order_id": order.order_id}
    held = list(order.items.values_list("item_id", flat=True))
    if tool == "refund_payment":
        args |= {"amount": f"{spec['amount']:.2f}", "reason": "goodwill"}
    if tool == "cancel_pending_order":
        args["reason"] = spec["reason"]
    if "swaps" in spec:
        args["item_ids"], args["new_item_ids"] = [], []
        for position, same_product, new in spec["swaps"]:
            old = held_take(held, position)
            if same_product and old in world.product_of:
                options = [
                    v for v in world.variants if v.product_id == world.product_of[old].product_id
                ]
            else:
                options = world.variants
            args["item_ids"].append(old)
            args["new_item_ids"].append(pick(options, new).item_id)
    if "items" in spec:
        args["item_ids"] = [held_take(held, i) for i in spec["items"]]
    if "method" in spec:
        args["payment_method_id"] = pick(world.methods, spec["method"]).method_id
    return args


def executions() -> int:
    return AuditEntry.objects.filter(kind=AuditEntry.Kind.EXECUTED).count()


def promised_refunds() -> dict[int, Decimal]:
    """What requested returns and exchanges will refund once the items come back."""
    promised = {}
    for order in Order.objects.filter(status=Order.Status.RETURN_REQUESTED):
        promised[order.pk] = Decimal(order.request["refund_amount"])
    for order in Order.objects.filter(status=Order.Status.EXCHANGE_REQUESTED):
        promised[order.pk] = max(-Decimal(order.request["price_difference"]), Decimal(0))
    return promised


def orders_over_refunded() -> list[int]:
    """Orders refunded, or promised a refund, more than was paid for them."""
    totals: dict[int, dict[str, Decimal]] = {}
    for row in Payment.objects.values("order_id", "transaction_type").annotate(total=Sum("amount")):
        totals.setdefault(row["order_id"], {})[row["transaction_type"]] = row["total"]
    promised = promised_refunds()
    return sorted(
        order_id
        for order_id, total in totals.items()
        if total.get(Payment.Type.REFUND, 0) + promised.get(order_id, 0)
        > total.get(Payment.Type.PAYMENT, 0)
    )


def sequence_run(
    *, gift_card_balance: Decimal, actions: list[tuple[str, tuple[str, dict[str, Any]]]]
) -> list[list[int]]:
    """Run the actions in a store of their own; check after each that a refused action wrote
    nothing and an allowed one was executed and audited once, and that no gift card is below
    zero. Return, after each action, the orders refunded more than they were paid."""
    over_refunded = []
    with transaction.atomic():
        world = world_build(gift_card_balance=gift_card_balance)
        state, executed = store_snapshot(), executions()
        for actor, (tool, spec) in actions:
            args = args_resolve(world, tool, spec)
            outcome = action_execute(
                actor=actor, tool=tool, args=args, account_id=world.customer.customer_id
            )
            event(f"{tool}: {outcome.decision.outcome}")
            before, state = state, store_snapshot()
            executed_before, executed = executed, executions()
            if outcome.decision.outcome == "allow":
                assert outcome.executed
                assert executed == executed_before + 1
            else:
                assert not outcome.executed
                assert state == before, (actor, tool, args, outcome.decision)
                assert executed == executed_before
            assert not PaymentMethod.objects.filter(balance__lt=0).exists()
            over_refunded.append(orders_over_refunded())
        transaction.set_rollback(True)
    return over_refunded


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(gift_card_balance=GIFT_CARD_BALANCES, actions=WITH_CANCEL)
def test_gift_cards_stay_positive_and_refused_actions_write_nothing(
    gift_card_balance: Decimal, actions: list[tuple[str, tuple[str, dict[str, Any]]]]
) -> None:
    sequence_run(gift_card_balance=gift_card_balance, actions=actions)


# Orders 1 ($170 by card) and 5 ($250 by gift card) are delivered, order 2 ($190) is pending.
REFUND_ALL_OF_1 = ("supervisor", ("refund_payment", {"order": 1, "amount": Decimal("170.00")}))
REFUND_ALL_OF_2 = ("supervisor", ("refund_payment", {"order": 2, "amount": Decimal("190.00")}))
REFUND_ALL_OF_5 = ("supervisor", ("refund_payment", {"order": 5, "amount": Decimal("250.00")}))
RETURN_ALL_OF_1 = (
    "supervisor",
    ("return_delivered_order_items", {"order": 1, "items": [0, 1], "method": 0}),
)
# A red shirt ($60) for a blue one ($50), and brown boots ($130) for black ones ($120).
CHEAPER_ITEM_IN_2 = (
    "ai",
    ("modify_pending_order_items", {"order": 2, "swaps": [(0, True, 0)], "method": 0}),
)
CHEAPER_EXCHANGE_IN_5 = (
    "ai",
    ("exchange_delivered_order_items", {"order": 5, "swaps": [(0, True, 0)], "method": 2}),
)


def refunds_then_money_back(order: int) -> st.SearchStrategy[Any]:
    """Refunds of one order, then swaps and returns of the same order that may give money back,
    all by a supervisor, so that no authority limit stops them before the policy's rules do."""
    same_order = st.just(order)
    refunds = st.tuples(
        st.just("refund_payment"),
        st.fixed_dictionaries(
            {
                "order": same_order,
                "amount": st.decimals(
                    min_value=Decimal("0.01"), max_value=Decimal("250"), places=2
                ),
            }
        ),
    )
    money_back = st.one_of(
        st.tuples(
            st.just(tool),
            st.fixed_dictionaries({"order": same_order, "swaps": SWAPS, "method": METHOD}),
        )
        for tool in ("modify_pending_order_items", "exchange_delivered_order_items")
    ) | st.tuples(
        st.just("return_delivered_order_items"),
        st.fixed_dictionaries(
            {
                "order": same_order,
                "items": st.lists(INDEX, min_size=1, max_size=3),
                "method": METHOD,
            }
        ),
    )
    return st.tuples(
        st.lists(st.tuples(st.just("supervisor"), refunds), min_size=1, max_size=2),
        st.lists(st.tuples(st.just("supervisor"), money_back), min_size=1, max_size=2),
    )


# The orders with an item that has a cheaper option: 0 and 2 are pending, 1 and 5 delivered.
ORDERS_WITH_MONEY_BACK = st.sampled_from([0, 1, 2, 5])


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(gift_card_balance=GIFT_CARD_BALANCES, actions=WITHOUT_CANCEL)
@example(gift_card_balance=Decimal("100.00"), actions=[RETURN_ALL_OF_1, REFUND_ALL_OF_1])
def test_no_order_is_refunded_more_than_was_paid(
    gift_card_balance: Decimal, actions: list[tuple[str, tuple[str, dict[str, Any]]]]
) -> None:
    over_refunded = sequence_run(gift_card_balance=gift_card_balance, actions=actions)
    assert not any(over_refunded), over_refunded


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(
    gift_card_balance=GIFT_CARD_BALANCES,
    sequence=ORDERS_WITH_MONEY_BACK.flatmap(refunds_then_money_back),
)
@example(gift_card_balance=Decimal("100.00"), sequence=([REFUND_ALL_OF_1], [RETURN_ALL_OF_1]))
@example(gift_card_balance=Decimal("100.00"), sequence=([REFUND_ALL_OF_2], [CHEAPER_ITEM_IN_2]))
@example(gift_card_balance=Decimal("0.00"), sequence=([REFUND_ALL_OF_5], [CHEAPER_EXCHANGE_IN_5]))
def test_refunds_then_swaps_or_returns_never_refund_more_than_was_paid(
    gift_card_balance: Decimal,
    sequence: tuple[list[tuple[str, tuple[str, dict[str, Any]]]], ...],
) -> None:
    """A refund first, then price differences and returns: what is refunded, now or once the
    items come back, never exceeds what was paid."""
    refunds, then = sequence
    over_refunded = sequence_run(gift_card_balance=gift_card_balance, actions=refunds + then)
    assert not any(over_refunded), over_refunded


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(gift_card_balance=GIFT_CARD_BALANCES, actions=WITH_CANCEL)
@example(
    gift_card_balance=Decimal("100.00"),
    actions=[
        ("agent", ("refund_payment", {"order": 0, "amount": Decimal("50.00")})),
        ("agent", ("cancel_pending_order", {"order": 0, "reason": "no longer needed"})),
    ],
)
def test_no_order_is_refunded_more_than_was_paid_with_cancellations(
    gift_card_balance: Decimal, actions: list[tuple[str, tuple[str, dict[str, Any]]]]
) -> None:
    over_refunded = sequence_run(gift_card_balance=gift_card_balance, actions=actions)
    assert not any(over_refunded), over_refunded
