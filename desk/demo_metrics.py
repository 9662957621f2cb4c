"""Four months of generated contacts for the demo's metrics page, so both reports (churn and
deflection, the handoff gap) have something to stand on: the churn report reads 60-day
windows, which only the first two months have closed.

The history is outcomes.generate's (`manage.py generate_history`), seeded and written in bulk
with backdated times: a few seconds on the embedded default. Its cases are held by the
generator's own inactive agents, so the live desk's agents and their board keep their own
baselines (desk/demo_history.py).

The churn report compares contacts with store customers who had none. The demo shop's own
customers are those: their orders only go back a month (desk/demo.py), which would make them
look as if they had stopped buying. So their earlier months are filled in at the same baseline
rates the generator's no-contact customers follow (outcomes/generate_story.py), for its mix
of tiers: delivered orders of one item, paid, and some subscriptions cancelled.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from conversations.models import Conversation
from outcomes.generate import HISTORY_INTEGRATION, HistoryExists, history_generate
from outcomes.generate_story import Customer as StoryCustomer
from outcomes.generate_story import store_activity, tier_pick
from store.models import (
    Customer,
    Order,
    OrderItem,
    Payment,
    PaymentMethod,
    Subscription,
    Variant,
)

METRICS_CONVERSATIONS = 3000
METRICS_DAYS = 120
METRICS_SEED = 12


@dataclass(frozen=True)
class MetricsHistoryCounts:
    conversations: int
    days: int
    seeded_now: bool

    def line(self) -> str:
        return (
            f"Metrics: {self.conversations} generated contacts over {self.days} days behind "
            "/metrics/ (seeded in bulk, not live work)"
        )


def demo_metrics_seed(
    *,
    conversations: int = METRICS_CONVERSATIONS,
    days: int = METRICS_DAYS,
    seed: int = METRICS_SEED,
    now: datetime | None = None,
) -> MetricsHistoryCounts:
    """Generate the metrics' history once: a second call returns what is there."""
    now = now or timezone.now()
    try:
        counts = history_generate(conversations=conversations, days=days, seed=seed, now=now)
    except HistoryExists:
        there = Conversation.objects.filter(integration__name=HISTORY_INTEGRATION).count()
        return MetricsHistoryCounts(there, days, False)
    demo_store_backfill(since=now - timedelta(days=days + 60), seed=seed)
    return MetricsHistoryCounts(counts.conversations, days, True)


@transaction.atomic
def demo_store_backfill(*, since: datetime, seed: int = METRICS_SEED) -> int:
    """Fill in the demo shop customers' orders and cancellations from `since` up to their
    first order, at the baseline rates; returns the orders written. The generator's own
    customers (`hist_…`) already have theirs."""
    shop = Customer.objects.exclude(customer_id__startswith="hist_")
    first = shop.aggregate(first=Min("orders__created_at"))["first"]
    variants = list(Variant.objects.select_related("product").order_by("pk"))
    if first is None or first <= since or not variants:
        return 0
    rng = random.Random(seed)
    taken = set(Order.objects.values_list("order_id", flat=True))
    methods = dict(
        PaymentMethod.objects.filter(source=PaymentMethod.Source.CREDIT_CARD).values_list(
            "customer_id", "method_id"
        )
    )
    subscribers = set(Subscription.objects.values_list("customer_id", flat=True))
    orders, items, payments, ended = [], [], [], {}
    for pk in shop.order_by("pk").values_list("pk", flat=True):
        # The shop's tiers come from one busy month of orders (most are gold): the earlier
        # months are drawn at the rates of the generator's tier mix instead.
        story = StoryCustomer(pk, "bound", tier_pick(rng), "", "", subscriber=pk in subscribers)
        store_activity(rng, story, [], since=since, now=first)
        if story.subscription_ended is not None:
            ended[pk] = story.subscription_ended
        for at in story.orders:
            while (order_id := f"#W{rng.randint(1_000_000, 9_999_999)}") in taken:
                pass
            taken.add(order_id)
            variant = rng.choice(variants)
            order = Order(
                order_id=order_id,
                customer_id=pk,
                status=Order.Status.DELIVERED,
                total=variant.price,
                created_at=at,
            )
            orders.append(order)
            items.append((order, variant))
            if pk in methods:
                payments.append((order, methods[pk]))
    Order.objects.bulk_create(orders, batch_size=2000)
    OrderItem.objects.bulk_create(
        [
            OrderItem(
                order=order,
                item_id=v.item_id,
                product_id=v.product.product_id,
                name=v.product.name,
                options=v.options,
                price=v.price,
            )
            for order, v in items
        ],
        batch_size=2000,
    )
    Payment.objects.bulk_create(
        [
            Payment(
                order=order,
                transaction_type=Payment.Type.PAYMENT,
                amount=order.total,
                payment_method_id=method,
                created_at=order.created_at,
            )
            for order, method in payments
        ],
        batch_size=2000,
    )
    for subscription in Subscription.objects.filter(customer_id__in=ended):
        if subscription.started_at < ended[subscription.customer_id]:
            subscription.status = Subscription.Status.CANCELLED
            subscription.ended_at = ended[subscription.customer_id]
            subscription.renews_at = None
            subscription.save(update_fields=["status", "ended_at", "renews_at"])
    return len(orders)
