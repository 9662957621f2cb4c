"""The demo's customer to chat as on the widget page: one the journey works for."""

from __future__ import annotations

import pytest

from desk.demo import demo_store_seed
from desk.demo_widget import REFUND_OVER_AI_LIMIT, demo_widget_customer
from store.models import Customer, Order

pytestmark = pytest.mark.django_db


def test_the_demo_customer_has_an_order_on_its_way_and_one_to_refund_over_the_ais_limit() -> None:
    demo_store_seed(customers=40, orders=150, seed=3)
    customer = demo_widget_customer()
    assert customer is not None
    person = Customer.objects.get(email=customer.email)
    assert customer.zip_code == person.zip
    shipped = Order.objects.get(order_id=customer.shipped_order, customer=person)
    assert shipped.status == Order.Status.PROCESSED and shipped.fulfillments.exists()
    delivered = Order.objects.get(order_id=customer.delivered_order, customer=person)
    assert delivered.status == Order.Status.DELIVERED
    assert delivered.total >= REFUND_OVER_AI_LIMIT


def test_no_shop_no_demo_customer() -> None:
    assert demo_widget_customer() is None
