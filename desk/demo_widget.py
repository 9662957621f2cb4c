"""The demo's customer side: who to chat as on the widget page (/chat/), so a person can walk
the customer's journey (tracking from the assistant, a refund over the AI's limit, the warm
transfer and the wait, the agent, the survey) beside the desk."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from store.models import Customer, Order

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
    order of at least REFUND_OVER_AI_LIMIT; None if the shop holds no such customer. Three
    queries."""
    delivered = Order.objects.filter(status=Order.Status.DELIVERED, total__gte=REFUND_OVER_AI_LIMIT)
    shipped = Order.objects.filter(status=Order.Status.PROCESSED, fulfillments__isnull=False)
    customer = (
        Customer.objects.filter(orders__in=delivered)
        .filter(orders__in=shipped)
        .order_by("pk")
        .first()
    )
    if customer is None:
        return None

    def first(orders: QuerySet[Order]) -> str:
        found = orders.filter(customer=customer).order_by("created_at")
        return str(found.values_list("order_id", flat=True).first() or "")

    return DemoCustomer(
        email=customer.email,
        zip_code=customer.zip,
        shipped_order=first(shipped),
        delivered_order=first(delivered),
    )
