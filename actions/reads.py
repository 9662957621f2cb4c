"""The read tools: what the AI (or an agent) may look up in the store (store/selectors.py).

Reads change nothing, but they are still held to one customer per conversation: once a
conversation is about a customer, another customer's profile and orders are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from actions import catalog
from actions.policy import Decision
from store import selectors


def _plain(value: Any) -> Any:
    """A store record as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _owner_of(record: Any) -> str | None:
    return getattr(record, "customer_id", None)


def _found(record: Any, what: str) -> tuple[Decision, dict[str, Any]]:
    if record is None:
        return Decision("deny", [f"{what}_not_found"]), {}
    return Decision("allow"), {"found": _plain(record)}


def _customer_found(record: Any) -> tuple[Decision, dict[str, Any]]:
    if record is None:
        return Decision("deny", ["customer_not_found"]), {}
    return Decision("allow"), {"user_id": record.customer_id}


READS: dict[str, Callable[[Any], Any]] = {
    "find_user_id_by_email": lambda a: selectors.customer_find_by_email(email=a.email),
    "find_user_id_by_name_zip": lambda a: selectors.customer_find_by_name_zip(
        first_name=a.first_name, last_name=a.last_name, zip=a.zip
    ),
    "get_user_details": lambda a: selectors.customer_get(customer_id=a.user_id),
    "get_order_details": lambda a: selectors.order_get(order_id=a.order_id),
    "get_product_details": lambda a: selectors.product_get(product_id=a.product_id),
    "list_user_orders": lambda a: selectors.customer_orders(customer_id=a.user_id),
}


# Reads that need no customer: finding one, and the catalog.
OPEN_READS = frozenset({"find_user_id_by_email", "find_user_id_by_name_zip", "get_product_details"})


def read_run(
    *,
    tool: catalog.Tool,
    args: catalog.Args,
    account_id: str | None,
    needs_customer: bool = False,
) -> tuple[Decision, dict[str, Any]]:
    """Run a read tool; refuse another customer's data once the conversation has a customer.
    With `needs_customer` (the AI), a customer's data is refused until the conversation has an
    authenticated customer (policy: find the user by email, or by name and zip, first)."""
    if needs_customer and not account_id and tool.name not in OPEN_READS:
        return Decision("deny", ["not_authenticated"]), {}
    record = READS[tool.name](args)
    if tool.name.startswith("find_user_id"):
        return _customer_found(record)
    if tool.name == "list_user_orders":
        if account_id and args.user_id != account_id:
            return Decision("deny", ["other_customer"]), {}
        return Decision("allow"), {"orders": _plain(record)}
    if tool.name == "get_product_details":
        return _found(record, "product")
    if record is not None and account_id and _owner_of(record) not in (None, account_id):
        return Decision("deny", ["other_customer"]), {}
    return _found(record, "order" if tool.name == "get_order_details" else "customer")
