"""A cast of real customers: with --cast FILE the conversations are about the customers and
orders in FILE (a platform knows its own customers), so the desk can link them to its store.
Without one, every name, email and order number is made up.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from tools.simulate.data import scripts
from tools.simulate.errors import SimulationError


class CastItem(BaseModel):
    name: str
    price: float
    category: str = ""


class CastShipment(BaseModel):
    carrier: str
    tracking: str


class CastOrder(BaseModel):
    order_id: str
    status: str
    created_at: datetime
    items: list[CastItem]
    total: float
    shipments: list[CastShipment] = []


class CastSubscription(BaseModel):
    plan: str
    price: float
    renews_at: str | None = None


class CastMember(BaseModel):
    customer_id: str
    first: str
    last: str
    email: str
    phone: str = ""
    orders: list[CastOrder]
    subscriptions: list[CastSubscription] = []


_CAST = TypeAdapter(list[CastMember])

# Which of a customer's orders each kind of conversation is about, by status, best first.
_ORDER_STATUSES: dict[str, tuple[str, ...]] = {
    "order_status": ("processed", "pending"),
    "angry": ("processed", "delivered"),
    "return": ("delivered",),
    "refund_over_limit": ("delivered", "processed"),
    "address_change": ("pending",),
    "prompt_injection": ("delivered", "processed"),
}


def cast_load(path: str) -> list[CastMember]:
    """Read a cast file: a JSON array of customers with their orders (see `CastMember`)."""
    try:
        with open(path, encoding="utf-8") as file:
            cast = _CAST.validate_json(file.read())
    except OSError as exc:
        raise SimulationError(f"cannot read the cast file {path}: {exc.strerror}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SimulationError(
            f"the cast file {path} is not valid at {where}: {first['msg']}"
        ) from exc
    cast = [member for member in cast if any(order.items for order in member.orders)]
    if not cast:
        raise SimulationError(f"the cast file {path} has no customer with an order")
    return cast


def cast_vars(rng: random.Random, *, kind: str, cast: Sequence[CastMember]) -> dict[str, Any]:
    """The variables of a conversation that come from a cast member and their orders."""
    if kind == "bereavement":
        return _bereavement_vars(rng, cast=cast)
    wanted = _ORDER_STATUSES.get(kind, ())
    limit = scripts().ai_refund_limit
    # A refund over the AI's limit needs an order that cost more than the limit.
    dear = [
        (m, o) for m in cast for o in m.orders if o.items and o.status in wanted and o.total > limit
    ]
    if kind == "refund_over_limit" and dear:
        member, order = rng.choice(dear)
        orders = [o for o in member.orders if o.items]
    else:
        member = rng.choice(cast)
        orders = [o for o in member.orders if o.items]
        order = next(
            (o for status in wanted for o in orders if o.status == status),
            rng.choice(orders),
        )
    item = rng.choice(order.items)
    dearest = max(order.items, key=lambda i: i.price)
    others = [o for o in orders if o is not order]
    found: dict[str, Any] = {
        "first": member.first,
        "last": member.last,
        "name": f"{member.first} {member.last}",
        "email": member.email,
        "external_id": member.customer_id,
        "order": order.order_id,
        "order2": others[0].order_id if others else order.order_id,
        "product": item.name,
        "price": item.price,
        "ordered": day(order.created_at),
        "big_product": dearest.name,
        "big_price": dearest.price,
        "price_drop": round(dearest.price * rng.uniform(0.42, 0.5), 2),
        "amount": order.total,
    }
    if member.phone:
        found["phone"] = member.phone
    if item.category:
        found["category"] = item.category
        found["category_upper"] = item.category.upper()
    if order.shipments:
        found["carrier"] = order.shipments[0].carrier
        found["tracking"] = order.shipments[0].tracking
    return found


def _bereavement_vars(rng: random.Random, *, cast: Sequence[CastMember]) -> dict[str, Any]:
    # The customer writing is the account holder's child, who has no account; the account (and
    # its subscription) is found from the email they give.
    holders = [member for member in cast if member.subscriptions] or list(cast)
    holder = rng.choice(holders)
    found: dict[str, Any] = {
        "last": holder.last,
        "deceased": holder.first,
        "deceased_email": holder.email,
    }
    if holder.subscriptions:
        subscription = holder.subscriptions[0]
        found |= {"plan": subscription.plan, "plan_price": subscription.price}
        if subscription.renews_at:
            found["next_charge"] = subscription.renews_at
    return found


def day(moment: datetime) -> str:
    return f"{moment:%A}, {moment:%B} {moment.day}"
