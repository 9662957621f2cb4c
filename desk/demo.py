"""Synthetic demo data: an outdoor-gear shop with a month of orders, and the desk's people."""

from __future__ import annotations

import functools
import itertools
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from desk.models import Macro
from escalation.models import AgentProfile, Team
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

DEMO_PASSWORD = "baton-demo"

DEMO_TEAMS = [
    ("general", "General support", ["order_status", "return", "refund", "exchange", "shipping"]),
    (
        "specialists",
        "Specialists",
        ["bereavement", "legal", "injury_safety", "fraud", "accessibility", "privacy"],
    ),
    ("trust-and-safety", "Trust and safety", ["prompt_injection", "fraud"]),
]

# username, first, last, role, teams, skills
DEMO_PEOPLE = [
    (
        "maya",
        "Maya",
        "Okafor",
        AgentProfile.Role.AGENT,
        ["general", "specialists"],
        ["bereavement", "accessibility", "privacy"],
    ),
    ("leo", "Leo", "Brandt", AgentProfile.Role.AGENT, ["general"], []),
    (
        "sam",
        "Sam",
        "Reyes",
        AgentProfile.Role.AGENT,
        ["general", "specialists", "trust-and-safety"],
        ["legal", "fraud", "injury_safety"],
    ),
    (
        "rita",
        "Rita",
        "Lindqvist",
        AgentProfile.Role.SUPERVISOR,
        ["general", "specialists", "trust-and-safety"],
        ["bereavement", "legal", "injury_safety", "fraud", "accessibility", "privacy"],
    ),
]

DEMO_MACROS = [
    (
        "Greeting",
        "Hi {customer_first_name}, I'm {agent_name}. I've read your conversation, so no "
        "need to repeat anything. Let me check this for you now.",
    ),
    (
        "Tracking update",
        "Hi {customer_first_name}, I've checked order {order_id}: I'll send you "
        "the latest tracking details in a moment.",
    ),
    (
        "Return label",
        "Hi {customer_first_name}, I've started the return. You'll get an email "
        "with the label and instructions shortly.",
    ),
    ("Closing", "Is there anything else I can help you with today, {customer_first_name}?"),
]

# The shop's products, subscription plans and carriers. The simulator's made-up conversations
# read the same file, so they are about products this store sells.
CATALOG_PATH = Path(__file__).with_name("demo_data") / "catalog.json"


@functools.cache
def demo_catalog() -> dict[str, Any]:
    """The demo catalog (demo_data/catalog.json). Callers must not change what they get."""
    return json.loads(CATALOG_PATH.read_text(encoding="utf-8"))


FIRST = [
    "Noah",
    "Emma",
    "Liam",
    "Olivia",
    "Ava",
    "Ethan",
    "Mia",
    "Lucas",
    "Amelia",
    "Mason",
    "Harper",
    "Aiden",
    "Ella",
    "Yusuf",
    "Sofia",
    "Mateo",
    "Chloe",
    "Arjun",
    "Zoe",
    "Kenji",
    "Fatima",
    "Omar",
    "Isla",
    "Daniel",
    "Grace",
    "Mei",
    "Jonas",
    "Priya",
    "Tariq",
    "Nora",
]
LAST = [
    "Brown",
    "Garcia",
    "Nguyen",
    "Smith",
    "Patel",
    "Kowalski",
    "Silva",
    "Johansson",
    "Kim",
    "Okafor",
    "Martin",
    "Rossi",
    "Hughes",
    "Dubois",
    "Yamamoto",
    "Haddad",
    "Lopez",
    "Wright",
    "Moreno",
    "Fischer",
    "Ahmed",
    "Novak",
    "Walsh",
    "Costa",
    "Lee",
    "Sato",
    "Murphy",
    "Khan",
]
CITIES = [
    ("Denver", "CO", "802"),
    ("Boulder", "CO", "803"),
    ("Seattle", "WA", "981"),
    ("Portland", "OR", "972"),
    ("Bend", "OR", "977"),
    ("Salt Lake City", "UT", "841"),
    ("Boise", "ID", "837"),
    ("Missoula", "MT", "598"),
    ("Asheville", "NC", "288"),
    ("Burlington", "VT", "054"),
    ("Flagstaff", "AZ", "860"),
    ("Duluth", "MN", "558"),
]
STREETS = [
    "Pine",
    "Aspen",
    "Canyon",
    "Ridge",
    "Summit",
    "Cedar",
    "Lakeview",
    "Trail",
    "Elk",
    "Birch",
]
# Roughly what a month of a shop looks like: most orders are already out the door.
STATUS_WEIGHTS = [
    (Order.Status.DELIVERED, 52),
    (Order.Status.PROCESSED, 20),
    (Order.Status.PENDING, 14),
    (Order.Status.CANCELLED, 6),
    (Order.Status.RETURN_REQUESTED, 4),
    (Order.Status.EXCHANGE_REQUESTED, 2),
    (Order.Status.PENDING_ITEMS_MODIFIED, 2),
]


@dataclass(frozen=True)
class DemoCounts:
    customers: int
    orders: int
    products: int
    variants: int


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def demo_people_ensure() -> list[tuple[str, str]]:
    """Create (or reset) the demo agents and supervisor; return (username, role) pairs."""
    user_model = get_user_model()
    teams = {}
    for slug, name, skills in DEMO_TEAMS:
        teams[slug], _ = Team.objects.update_or_create(
            slug=slug, defaults={"name": name, "skills": skills}
        )
    for name, body in DEMO_MACROS:
        Macro.objects.update_or_create(name=name, defaults={"body": body})
    logins = []
    for username, first, last, role, team_slugs, skills in DEMO_PEOPLE:
        user, _ = user_model.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@baton.example"},
        )
        user.set_password(DEMO_PASSWORD)
        user.is_staff = role == AgentProfile.Role.SUPERVISOR
        user.is_superuser = role == AgentProfile.Role.SUPERVISOR
        user.save()
        profile, _ = AgentProfile.objects.update_or_create(
            user=user, defaults={"role": role, "skills": skills}
        )
        profile.teams.set([teams[slug] for slug in team_slugs])
        logins.append((username, role))
    return logins


@transaction.atomic
def demo_store_seed(
    *, customers: int, orders: int, seed: int = 7, progress: Callable[[int], None] | None = None
) -> DemoCounts:
    """Fill an empty store with a synthetic shop. `progress` is called with rows written."""
    if Customer.objects.exists():
        return DemoCounts(
            Customer.objects.count(),
            Order.objects.count(),
            Product.objects.count(),
            Variant.objects.count(),
        )
    rng = random.Random(seed)
    tick = progress or (lambda n: None)
    now = timezone.now()

    catalog = demo_catalog()
    products, variants = [], []
    for p_index, entry in enumerate(catalog["products"], start=1):
        options, (low, high) = entry["options"], entry["price_range"]
        product = Product(product_id=f"{1000000000 + p_index * 7919}", name=entry["name"])
        products.append(product)
        keys = list(options)
        for v_index, combo in enumerate(itertools.product(*(options[k] for k in keys))):
            variants.append(
                Variant(
                    item_id=f"{2000000000 + p_index * 1000 + v_index}",
                    product=product,
                    options=dict(zip(keys, combo, strict=True)),
                    price=Decimal(rng.randint(low * 100, high * 100)) / 100,
                    available=rng.random() > 0.15,
                )
            )
    Product.objects.bulk_create(products)
    Variant.objects.bulk_create(variants)
    tick(len(products) + len(variants))

    customer_rows = []
    for index in range(customers):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, state, zip3 = rng.choice(CITIES)
        zip_code = f"{zip3}{rng.randint(0, 99):02d}"
        customer_rows.append(
            Customer(
                customer_id=f"{first.lower()}_{last.lower()}_{1000 + index}",
                first_name=first,
                last_name=last,
                email=f"{first.lower()}.{last.lower()}{index}@example.com",
                phone=f"+1-{rng.randint(201, 989)}-555-{rng.randint(0, 9999):04d}",
                address={
                    "address1": f"{rng.randint(10, 9999)} {rng.choice(STREETS)} St",
                    "address2": "",
                    "city": city,
                    "state": state,
                    "country": "USA",
                    "zip": zip_code,
                },
                zip=zip_code,
                created_at=now - timedelta(days=rng.randint(30, 1500)),
            )
        )
    for chunk in _chunks(customer_rows, 2000):
        Customer.objects.bulk_create(chunk)
        tick(len(chunk))

    methods: dict[int, list[PaymentMethod]] = {}
    method_rows, subscription_rows, contact_rows = [], [], []
    for index, customer in enumerate(customer_rows):
        own = [
            PaymentMethod(
                method_id=f"credit_card_{3000000 + index}",
                customer=customer,
                source=PaymentMethod.Source.CREDIT_CARD,
                brand=rng.choice(["visa", "mastercard", "amex"]),
                last_four=f"{rng.randint(0, 9999):04d}",
            )
        ]
        if rng.random() < 0.4:
            own.append(
                PaymentMethod(
                    method_id=f"paypal_{4000000 + index}",
                    customer=customer,
                    source=PaymentMethod.Source.PAYPAL,
                )
            )
        if rng.random() < 0.3:
            own.append(
                PaymentMethod(
                    method_id=f"gift_card_{5000000 + index}",
                    customer=customer,
                    source=PaymentMethod.Source.GIFT_CARD,
                    balance=Decimal(rng.randint(0, 300)),
                )
            )
        methods[index] = own
        method_rows.extend(own)
        if rng.random() < 0.12:
            started = now - timedelta(days=rng.randint(1, 400))
            subscription_rows.append(
                Subscription(
                    subscription_id=f"sub_{6000000 + index}",
                    customer=customer,
                    plan=rng.choice(catalog["subscription_plans"]),
                    started_at=started,
                    renews_at=started + timedelta(days=365),
                    price=Decimal(rng.choice(catalog["subscription_prices"])),
                    payment_method_id=own[0].method_id,
                )
            )
        for _ in range(rng.choices([0, 1, 2], [70, 22, 8])[0]):
            contact_rows.append(
                PriorContact(
                    customer=customer,
                    topic=rng.choice(
                        ["order status", "return", "sizing", "refund", "damaged item"]
                    ),
                    outcome=rng.choices(
                        [
                            PriorContact.Outcome.RESOLVED,
                            PriorContact.Outcome.FOLLOW_UP,
                            PriorContact.Outcome.ABANDONED,
                        ],
                        [75, 15, 10],
                    )[0],
                    contacted_at=now - timedelta(days=rng.randint(0, 60)),
                )
            )
    for chunk in _chunks(method_rows, 5000):
        PaymentMethod.objects.bulk_create(chunk)
    Subscription.objects.bulk_create(subscription_rows)
    PriorContact.objects.bulk_create(contact_rows)
    tick(len(method_rows))

    statuses = [s for s, _ in STATUS_WEIGHTS]
    weights = [w for _, w in STATUS_WEIGHTS]
    order_numbers = rng.sample(range(1_000_000, 9_999_999), orders)
    order_rows, item_rows, payment_rows, fulfillment_rows = [], [], [], []
    lifetime: dict[int, Decimal] = {}
    shipped = {
        Order.Status.DELIVERED,
        Order.Status.PROCESSED,
        Order.Status.RETURN_REQUESTED,
        Order.Status.EXCHANGE_REQUESTED,
    }
    for number in order_numbers:
        owner = rng.randrange(len(customer_rows))
        customer = customer_rows[owner]
        picked = [
            rng.choice(variants) for _ in range(rng.choices([1, 2, 3, 4], [50, 30, 15, 5])[0])
        ]
        total = sum((v.price for v in picked), Decimal(0))
        order = Order(
            order_id=f"#W{number}",
            customer=customer,
            status=rng.choices(statuses, weights)[0],
            address=customer.address,
            total=total,
            created_at=now - timedelta(minutes=rng.randint(0, 30 * 24 * 60)),
        )
        order_rows.append(order)
        lifetime[customer.pk] = lifetime.get(customer.pk, Decimal(0)) + total
        item_rows.extend(
            OrderItem(
                order=order,
                item_id=v.item_id,
                product_id=v.product.product_id,
                name=v.product.name,
                options=v.options,
                price=v.price,
            )
            for v in picked
        )
        method = rng.choice(methods[owner])
        payment_rows.append(
            Payment(
                order=order,
                transaction_type=Payment.Type.PAYMENT,
                amount=total,
                payment_method_id=method.method_id,
                created_at=order.created_at,
            )
        )
        if order.status == Order.Status.CANCELLED:
            payment_rows.append(
                Payment(
                    order=order,
                    transaction_type=Payment.Type.REFUND,
                    amount=total,
                    payment_method_id=method.method_id,
                    created_at=order.created_at,
                )
            )
        if order.status in shipped:
            fulfillment_rows.append(
                Fulfillment(
                    order=order,
                    tracking_ids=[f"{rng.randint(10**11, 10**12 - 1)}"],
                    item_ids=[v.item_id for v in picked],
                    carrier=rng.choice(catalog["carriers"]),
                )
            )
    for chunk in _chunks(order_rows, 2000):
        Order.objects.bulk_create(chunk)
        tick(len(chunk))
    for rows, model in (
        (item_rows, OrderItem),
        (payment_rows, Payment),
        (fulfillment_rows, Fulfillment),
    ):
        for chunk in _chunks(rows, 5000):
            model.objects.bulk_create(chunk)
            tick(len(chunk))
    for customer in customer_rows:
        customer.lifetime_value = lifetime.get(customer.pk, Decimal(0))
        customer.tier = (
            Customer.Tier.GOLD
            if customer.lifetime_value >= 1500
            else Customer.Tier.SILVER
            if customer.lifetime_value >= 600
            else Customer.Tier.STANDARD
        )
    for chunk in _chunks(customer_rows, 2000):
        Customer.objects.bulk_update(chunk, ["lifetime_value", "tier"])
    return DemoCounts(len(customer_rows), len(order_rows), len(products), len(variants))


def demo_cast(*, size: int = 300, seed: int = 11) -> list[dict[str, Any]]:
    """Customers of the store, with their orders and subscriptions, for the simulator's
    conversations (`simulate --cast`): so the demo's chats are about real accounts and the
    agent's account panel, linking and drafted actions have something to work on."""
    # Customers with orders of items: generated metrics history (desk/demo_metrics.py) keeps
    # orders without their items, nothing a chat could be about.
    ids = list(
        Customer.objects.filter(orders__items__isnull=False)
        .values_list("pk", flat=True)
        .distinct()
    )
    picked = random.Random(seed).sample(ids, min(size, len(ids)))
    customers = (
        Customer.objects.filter(pk__in=picked)
        .order_by("customer_id")
        .prefetch_related(
            Prefetch("orders", queryset=Order.objects.order_by("-created_at")),
            "orders__items",
            "orders__fulfillments",
            Prefetch(
                "subscriptions",
                queryset=Subscription.objects.filter(status=Subscription.Status.ACTIVE),
            ),
        )
    )
    categories = {entry["name"]: entry["category"] for entry in demo_catalog()["products"]}
    return [_cast_member(customer, categories=categories) for customer in customers]


def _cast_member(customer: Customer, *, categories: dict[str, str]) -> dict[str, Any]:
    address = customer.address or {}
    return {
        "customer_id": customer.customer_id,
        "first": customer.first_name,
        "last": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "address": ", ".join(
            part
            for part in (
                address.get("address1", ""),
                address.get("city", ""),
                f"{address.get('state', '')} {address.get('zip', '')}".strip(),
            )
            if part
        ),
        "orders": [
            {
                "order_id": order.order_id,
                "status": order.status,
                "created_at": order.created_at.isoformat(),
                "items": [
                    {
                        "name": item.name,
                        "price": float(item.price),
                        "category": categories.get(item.name, ""),
                    }
                    for item in order.items.all()
                ],
                "total": float(order.total),
                "shipments": [
                    {"carrier": f.carrier, "tracking": f.tracking_ids[0]}
                    for f in order.fulfillments.all()
                    if f.tracking_ids
                ],
            }
            for order in customer.orders.all()
        ],
        "subscriptions": [
            {
                "plan": sub.plan,
                "price": float(sub.price),
                "renews_at": sub.renews_at.date().isoformat() if sub.renews_at else None,
            }
            for sub in customer.subscriptions.all()
        ],
    }
