"""The read tools: what the AI (or an agent) may look up in the store (store/selectors.py).

Reads change nothing, but they are still held to one customer per conversation: once a
conversation is about a customer, another customer's profile and orders are refused.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from actions.policy import Decision
from actions.schemas import Args
from store import selectors

if TYPE_CHECKING:
    from actions.catalog import Tool


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


# One function a read tool (actions/catalog.py), named after it: the answer to the call, given
# the conversation's customer. Once a conversation is about a customer, another's is refused.


def find_user_id_by_email(args: Any, account_id: str | None) -> tuple[Decision, dict[str, Any]]:
    return _customer_found(selectors.customer_find_by_email(email=args.email))


def find_user_id_by_name_zip(args: Any, account_id: str | None) -> tuple[Decision, dict[str, Any]]:
    return _customer_found(
        selectors.customer_find_by_name_zip(
            first_name=args.first_name, last_name=args.last_name, zip=args.zip
        )
    )


def get_user_details(args: Any, account_id: str | None) -> tuple[Decision, dict[str, Any]]:
    return _owned(selectors.customer_get(customer_id=args.user_id), "customer", account_id)


def get_order_details(args: Any, account_id: str | None) -> tuple[Decision, dict[str, Any]]:
    return _owned(selectors.order_get(order_id=args.order_id), "order", account_id)


def get_product_details(args: Any, account_id: str | None) -> tuple[Decision, dict[str, Any]]:
    return _found(selectors.product_get(product_id=args.product_id), "product")


def list_user_orders(args: Any, account_id: str | None) -> tuple[Decision, dict[str, Any]]:
    if account_id and args.user_id != account_id:
        return Decision("deny", ["other_customer"]), {}
    return Decision("allow"), {
        "orders": _plain(selectors.customer_orders(customer_id=args.user_id))
    }


def _owned(record: Any, what: str, account_id: str | None) -> tuple[Decision, dict[str, Any]]:
    if record is not None and account_id and _owner_of(record) not in (None, account_id):
        return Decision("deny", ["other_customer"]), {}
    return _found(record, what)


def read_run(
    *,
    tool: Tool,
    args: Args,
    account_id: str | None,
    needs_customer: bool = False,
) -> tuple[Decision, dict[str, Any]]:
    """Run a read tool; refuse another customer's data once the conversation has a customer.
    With `needs_customer` (the AI), a customer's data is refused until the conversation has an
    authenticated customer (policy: find the user by email, or by name and zip, first)."""
    if needs_customer and not account_id and not tool.open_read:
        return Decision("deny", ["not_authenticated"]), {}
    assert tool.read is not None  # read tools carry one (catalog.Tool)
    return tool.read(args, account_id)
