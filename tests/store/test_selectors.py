from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from store.models import (
    Customer,
    Fulfillment,
    Order,
    OrderItem,
    Payment,
    PaymentMethod,
    PriorContact,
    Product,
    Subscription,
    Variant,
)
from store.selectors import (
    customer_contacts,
    customer_find_by_email,
    customer_find_by_name_zip,
    customer_get,
    customer_orders,
    customer_subscriptions,
    order_get,
    product_get,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ADDRESS = {
    "address1": "986 Sunset Drive",
    "address2": "Suite 259",
    "city": "Denver",
    "country": "USA",
    "state": "CO",
    "zip": "80279",
}


def make_customer(customer_id: str = "noah_brown_6181") -> Customer:
    customer = Customer.objects.create(
        customer_id=customer_id,
        first_name="Noah",
        last_name="Brown",
        email=f"{customer_id}@example.com",
        phone="555-0100",
        address=ADDRESS,
        zip="80279",
        tier=Customer.Tier.GOLD,
        lifetime_value=Decimal("1234.50"),
    )
    PaymentMethod.objects.create(
        method_id=f"credit_card_{customer_id}",
        customer=customer,
        source=PaymentMethod.Source.CREDIT_CARD,
        brand="visa",
        last_four="4242",
    )
    PaymentMethod.objects.create(
        method_id=f"gift_card_{customer_id}",
        customer=customer,
        source=PaymentMethod.Source.GIFT_CARD,
        balance=Decimal("40.00"),
    )
    return customer


def make_order(customer: Customer, n: int, *, items: int = 2) -> Order:
    order = Order.objects.create(
        order_id=f"#W{n:07d}",
        customer=customer,
        status=Order.Status.DELIVERED,
        address=ADDRESS,
        total=Decimal("20.00") * items,
        created_at=NOW - timedelta(days=n),
    )
    OrderItem.objects.bulk_create(
        OrderItem(
            order=order,
            item_id=f"item-{n}-{i}",
            product_id="8310926033",
            name="Water Bottle",
            options={"capacity": "1000ml"},
            price=Decimal("20.00"),
        )
        for i in range(items)
    )
    Fulfillment.objects.create(
        order=order,
        tracking_ids=[f"TRK{n}"],
        item_ids=[f"item-{n}-{i}" for i in range(items)],
        carrier="UPS",
    )
    Payment.objects.create(
        order=order,
        transaction_type=Payment.Type.PAYMENT,
        amount=order.total,
        payment_method_id=f"credit_card_{customer.customer_id}",
    )
    return order


@pytest.mark.django_db
def test_customer_lookups_return_masked_payment_methods(django_assert_num_queries: Any) -> None:
    make_customer()

    with django_assert_num_queries(2):
        by_id = customer_get(customer_id="noah_brown_6181")
    by_email = customer_find_by_email(email="noah_brown_6181@example.com")
    by_name = customer_find_by_name_zip(first_name="Noah", last_name="Brown", zip="80279")

    assert by_id is not None
    assert by_id == by_email == by_name
    assert by_id.name == "Noah Brown"
    assert by_id.tier == "gold"
    assert by_id.lifetime_value == Decimal("1234.50")
    assert by_id.address == ADDRESS
    card, gift = by_id.payment_methods
    assert (card.payment_method_id, card.source, card.label) == (
        "credit_card_noah_brown_6181",
        "credit_card",
        "visa •••• 4242",
    )
    assert card.balance is None
    assert gift.balance == Decimal("40.00")


@pytest.mark.django_db
def test_unknown_things_are_none_or_empty() -> None:
    assert customer_get(customer_id="nobody") is None
    assert customer_find_by_email(email="nobody@example.com") is None
    assert customer_find_by_name_zip(first_name="No", last_name="Body", zip="0") is None
    assert order_get(order_id="#W0000000") is None
    assert product_get(product_id="0") is None
    assert customer_orders(customer_id="nobody") == []
    assert customer_subscriptions(customer_id="nobody") == []
    assert customer_contacts(customer_id="nobody") == []


@pytest.mark.django_db
def test_order_get_has_items_fulfillments_and_payments() -> None:
    make_order(make_customer(), 1)

    order = order_get(order_id="#W0000001")

    assert order is not None
    assert order.customer_id == "noah_brown_6181"
    assert order.status == "delivered"
    assert order.total == Decimal("40.00")
    assert [item.item_id for item in order.items] == ["item-1-0", "item-1-1"]
    assert order.items[0].options == {"capacity": "1000ml"}
    assert order.fulfillments[0].tracking_ids == ("TRK1",)
    assert order.fulfillments[0].carrier == "UPS"
    assert order.payments[0].transaction_type == "payment"
    assert order.payments[0].amount == Decimal("40.00")


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 20])
def test_customer_orders_costs_the_same_queries_for_any_count(
    count: int, django_assert_num_queries: Any
) -> None:
    customer = make_customer()
    for n in range(1, count + 1):
        make_order(customer, n, items=3)

    # Orders with their customer, then items, fulfillments and payments.
    with django_assert_num_queries(4):
        orders = customer_orders(customer_id=customer.customer_id)

    assert len(orders) == count
    assert orders[0].order_id == "#W0000001"  # newest first
    assert all(len(order.items) == 3 for order in orders)


@pytest.mark.django_db
def test_customer_orders_respects_limit() -> None:
    customer = make_customer()
    for n in range(1, 6):
        make_order(customer, n)

    orders = customer_orders(customer_id=customer.customer_id, limit=2)

    assert [order.order_id for order in orders] == ["#W0000001", "#W0000002"]


@pytest.mark.django_db
def test_product_subscriptions_and_contacts(django_assert_num_queries: Any) -> None:
    customer = make_customer()
    product = Product.objects.create(product_id="8310926033", name="Water Bottle")
    Variant.objects.create(
        item_id="6469567736", product=product, options={"color": "blue"}, price=Decimal("47.84")
    )
    Variant.objects.create(
        item_id="6469567737",
        product=product,
        options={"color": "red"},
        price=Decimal("48.00"),
        available=False,
    )
    Subscription.objects.create(
        subscription_id="sub_1",
        customer=customer,
        plan="Trail Club",
        started_at=NOW - timedelta(days=40),
        renews_at=NOW + timedelta(days=20),
        price=Decimal("9.99"),
        payment_method_id="credit_card_noah_brown_6181",
    )
    for days, topic in [(2, "where is my order"), (60, "sizing")]:
        PriorContact.objects.create(
            customer=customer,
            topic=topic,
            outcome=PriorContact.Outcome.RESOLVED,
            contacted_at=NOW - timedelta(days=days),
        )

    with django_assert_num_queries(2):
        found = product_get(product_id="8310926033")
    subscriptions = customer_subscriptions(customer_id=customer.customer_id)
    recent = customer_contacts(customer_id=customer.customer_id, since=NOW - timedelta(days=30))
    everything = customer_contacts(customer_id=customer.customer_id)

    assert found is not None
    assert [(v.item_id, v.available) for v in found.variants] == [
        ("6469567736", True),
        ("6469567737", False),
    ]
    assert [(s.subscription_id, s.plan, s.price) for s in subscriptions] == [
        ("sub_1", "Trail Club", Decimal("9.99"))
    ]
    assert [c.topic for c in recent] == ["where is my order"]
    assert [c.topic for c in everything] == ["where is my order", "sizing"]
