"""The demo's customer side: who to chat as on the widget page (/chat/), so a person can walk
the customer's journey (tracking from the assistant, a refund over the AI's limit, the warm
transfer and the wait, the agent, the survey) beside the desk."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, OuterRef

from store.models import Order

# A refund the AI may not give alone in the demo shop's policy: it goes to a person.
REFUND_OVER_AI_LIMIT = Decimal("150")


@dataclass(frozen=True)
class DemoCustomer:
    email: str
    zip_code: str
    shipped_order: str
    delivered_order: str


def demo_widget_customer() -> DemoCustomer | None:
    """The first demo shop customer with an order on its way (with tracking) and a delivered
    order of at least REFUND_OVER_AI_LIMIT; None if the shop holds no such customer. Two
    queries."""
    delivered = Order.objects.filter(status=Order.Status.DELIVERED, total__gte=REFUND_OVER_AI_LIMIT)
    shipped = Order.objects.filter(status=Order.Status.PROCESSED, fulfillments__isnull=False)
    # One EXISTS per delivered order on the customer's index, not a join of every order twice
    # (which takes a minute on the 50,000-order demo shop).
    first_delivered = (
        delivered.filter(Exists(shipped.filter(customer=OuterRef("customer"))))
        .select_related("customer")
        .order_by("customer_id", "created_at")
        .first()
    )
    if first_delivered is None:
        return None
    customer = first_delivered.customer
    shipped_order = (
        shipped.filter(customer=customer)
        .order_by("created_at")
        .values_list("order_id", flat=True)
        .first()
    )
    return DemoCustomer(
        email=customer.email,
        zip_code=customer.zip,
        shipped_order=shipped_order or "",
        delivered_order=first_delivered.order_id,
    )
