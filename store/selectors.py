"""Reads of the store of record, as frozen records (store/records.py).

Every selector costs a fixed number of queries, however big the account. These read the same
tables the policy layer locks and the effects write, so what the desk and the AI are shown is
what an action is decided against (docs/store.md).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, QuerySet

from store.models import (
    Customer,
    Order,
    PaymentMethod,
    PriorContact,
    Product,
    Subscription,
    Variant,
)
from store.records import (
    ContactRecord,
    CustomerRecord,
    FulfillmentRecord,
    OrderItemRecord,
    OrderRecord,
    PaymentMethodRecord,
    PaymentRecord,
    ProductRecord,
    SubscriptionRecord,
    VariantRecord,
)


def _customers() -> QuerySet[Customer]:
    return Customer.objects.prefetch_related(
        Prefetch("payment_methods", queryset=PaymentMethod.objects.order_by("id"))
    ).order_by("id")


def _orders() -> QuerySet[Order]:
    # Items, fulfillments and payments keep their models' id ordering.
    return Order.objects.select_related("customer").prefetch_related(
        "items", "fulfillments", "payments"
    )


def _customer_record(customer: Customer) -> CustomerRecord:
    return CustomerRecord(
        customer_id=customer.customer_id,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=customer.phone,
        address=customer.address,
        tier=customer.tier,
        lifetime_value=customer.lifetime_value,
        payment_methods=tuple(
            PaymentMethodRecord(
                payment_method_id=method.method_id,
                source=method.source,
                label=method.masked,
                balance=method.balance,
            )
            for method in customer.payment_methods.all()
        ),
    )


def _order_record(order: Order) -> OrderRecord:
    return OrderRecord(
        order_id=order.order_id,
        customer_id=order.customer.customer_id,
        status=order.status,
        created_at=order.created_at,
        total=order.total,
        address=order.address,
        items=tuple(
            OrderItemRecord(
                item_id=item.item_id,
                product_id=item.product_id,
                name=item.name,
                price=item.price,
                options=item.options,
            )
            for item in order.items.all()
        ),
        fulfillments=tuple(
            FulfillmentRecord(
                tracking_ids=tuple(fulfillment.tracking_ids),
                item_ids=tuple(fulfillment.item_ids),
                carrier=fulfillment.carrier,
            )
            for fulfillment in order.fulfillments.all()
        ),
        payments=tuple(
            PaymentRecord(
                transaction_type=payment.transaction_type,
                amount=payment.amount,
                payment_method_id=payment.payment_method_id,
                created_at=payment.created_at,
            )
            for payment in order.payments.all()
        ),
    )


def customer_get(*, customer_id: str) -> CustomerRecord | None:
    customer = _customers().filter(customer_id=customer_id).first()
    return _customer_record(customer) if customer else None


def customer_find_by_email(*, email: str) -> CustomerRecord | None:
    customer = _customers().filter(email=email).first()
    return _customer_record(customer) if customer else None


def customer_find_by_name_zip(
    *, first_name: str, last_name: str, zip: str
) -> CustomerRecord | None:
    customer = _customers().filter(first_name=first_name, last_name=last_name, zip=zip).first()
    return _customer_record(customer) if customer else None


def customer_orders(*, customer_id: str, limit: int = 50) -> list[OrderRecord]:
    """The customer's orders, newest first."""
    orders = (
        _orders().filter(customer__customer_id=customer_id).order_by("-created_at", "-id")[:limit]
    )
    return [_order_record(order) for order in orders]


def order_get(*, order_id: str) -> OrderRecord | None:
    order = _orders().filter(order_id=order_id).first()
    return _order_record(order) if order else None


def product_get(*, product_id: str) -> ProductRecord | None:
    product = (
        Product.objects.prefetch_related(
            Prefetch("variants", queryset=Variant.objects.order_by("id"))
        )
        .filter(product_id=product_id)
        .first()
    )
    if product is None:
        return None
    return ProductRecord(
        product_id=product.product_id,
        name=product.name,
        variants=tuple(
            VariantRecord(
                item_id=variant.item_id,
                price=variant.price,
                available=variant.available,
                options=variant.options,
            )
            for variant in product.variants.all()
        ),
    )


def customer_subscriptions(*, customer_id: str) -> list[SubscriptionRecord]:
    """The customer's subscriptions, newest first."""
    subscriptions = Subscription.objects.filter(customer__customer_id=customer_id).order_by(
        "-started_at", "-id"
    )
    return [
        SubscriptionRecord(
            subscription_id=subscription.subscription_id,
            plan=subscription.plan,
            status=subscription.status,
            started_at=subscription.started_at,
            price=subscription.price,
            renews_at=subscription.renews_at,
            payment_method_id=subscription.payment_method_id,
        )
        for subscription in subscriptions
    ]


def customer_contacts(*, customer_id: str, since: datetime | None = None) -> list[ContactRecord]:
    """The customer's earlier support contacts at or after `since`, newest first."""
    contacts = PriorContact.objects.filter(customer__customer_id=customer_id)
    if since is not None:
        contacts = contacts.filter(contacted_at__gte=since)
    return [
        ContactRecord(
            channel=contact.channel,
            topic=contact.topic,
            outcome=contact.outcome,
            contacted_at=contact.contacted_at,
        )
        for contact in contacts.order_by("-contacted_at", "-id")
    ]
