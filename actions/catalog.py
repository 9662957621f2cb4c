"""The action catalog: every tool the AI, an agent or a supervisor can call, each with all it
needs in one place. A consequential tool carries its policy check (actions/policy.py) and
its effect (actions/effects.py); a read tool carries its read (actions/reads.py). A tool
missing one of these fails when this module loads, not when someone calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from actions import effects, policy, reads
from actions.policy import ActionState, Decision
from actions.schemas import (
    Args,
    CancelPendingOrder,
    ExchangeDeliveredOrderItems,
    FindCustomerByEmail,
    FindCustomerByNameZip,
    GetCustomer,
    GetOrder,
    GetProduct,
    IssueStoreCredit,
    ListOrders,
    ModifyPendingOrderAddress,
    ModifyPendingOrderItems,
    ModifyPendingOrderPayment,
    ModifyUserAddress,
    RefundPayment,
    RefundSubscription,
    ResendConfirmation,
    ReturnDeliveredOrderItems,
)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[Args]
    # Consequential tools: why the policy refuses it (reason codes), and what it writes.
    check: Callable[[ActionState], list[str]] | None = None
    effect: Callable[[ActionState], dict[str, Any]] | None = None
    # Read tools: the answer, given the arguments and the conversation's customer.
    read: Callable[[Any, str | None], tuple[Decision, dict[str, Any]]] | None = None
    # A read that needs no authenticated customer (finding one, the product catalog).
    open_read: bool = False
    # Finding the customer this way authenticates them, as the store's policy says.
    authenticates: bool = False

    def __post_init__(self) -> None:
        writes = self.check is not None and self.effect is not None
        if writes == (self.read is not None) or (self.check is None) != (self.effect is None):
            raise TypeError(f"tool {self.name}: give check and effect, or read, not both or none")

    @property
    def consequential(self) -> bool:
        return self.effect is not None

    def openai_definition(self) -> dict[str, Any]:
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": schema},
        }


def _write(name: str, description: str, args: type[Args]) -> Tool:
    return Tool(name, description, args, check=getattr(policy, name), effect=getattr(effects, name))


def _read(name: str, description: str, args: type[Args], **flags: bool) -> Tool:
    return Tool(name, description, args, read=getattr(reads, name), **flags)


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in [
        _read(
            "find_user_id_by_email",
            "Find a customer's user id by email.",
            FindCustomerByEmail,
            open_read=True,
            authenticates=True,
        ),
        _read(
            "find_user_id_by_name_zip",
            "Find a customer's user id by first name, last name and zip code.",
            FindCustomerByNameZip,
            open_read=True,
            authenticates=True,
        ),
        _read("get_user_details", "A customer's profile, payment methods and orders.", GetCustomer),
        _read(
            "get_order_details", "An order's status, items, fulfillments and payments.", GetOrder
        ),
        _read("get_product_details", "A product and its variants.", GetProduct, open_read=True),
        _read("list_user_orders", "A customer's orders, newest first.", ListOrders),
        _write(
            "cancel_pending_order",
            "Cancel a pending order. Reason: 'no longer needed' or 'ordered by mistake'. "
            "Refunds go to the original payment methods.",
            CancelPendingOrder,
        ),
        _write(
            "modify_pending_order_address",
            "Change a pending order's shipping address.",
            ModifyPendingOrderAddress,
        ),
        _write(
            "modify_pending_order_items",
            "Swap items of a pending order for available variants of the same products; once "
            "per order. The price difference is paid or refunded with the given payment method.",
            ModifyPendingOrderItems,
        ),
        _write(
            "modify_pending_order_payment",
            "Pay a pending order with another of the customer's payment methods.",
            ModifyPendingOrderPayment,
        ),
        _write(
            "return_delivered_order_items",
            "Request a return of delivered items; the refund goes to the original payment "
            "method or a gift card of the customer's.",
            ReturnDeliveredOrderItems,
        ),
        _write(
            "exchange_delivered_order_items",
            "Exchange delivered items for available variants of the same products.",
            ExchangeDeliveredOrderItems,
        ),
        _write("modify_user_address", "Change the customer's default address.", ModifyUserAddress),
        _write(
            "refund_payment",
            "Refund part or all of an order's payment to its original payment method.",
            RefundPayment,
        ),
        _write(
            "issue_store_credit",
            "Add store credit to the customer's gift card (a new one if they have none).",
            IssueStoreCredit,
        ),
        _write(
            "refund_subscription",
            "Refund and cancel a subscription's current period.",
            RefundSubscription,
        ),
        _write(
            "resend_confirmation", "Send the order confirmation email again.", ResendConfirmation
        ),
    ]
}


def tool_definitions(*, consequential: bool | None = None) -> list[dict[str, Any]]:
    """OpenAI tool definitions for the catalog (or just its read or write tools)."""
    return [
        tool.openai_definition()
        for tool in TOOLS.values()
        if consequential is None or tool.consequential == consequential
    ]


def tool_parse(*, tool_name: str, args: dict[str, Any]) -> tuple[Tool, Args] | Decision:
    """The catalog tool and its validated arguments, or the policy's refusal of the call."""
    tool = TOOLS.get(tool_name)
    if tool is None:
        return Decision("deny", ["unknown_tool"])
    try:
        return tool, tool.args.model_validate(args)
    except ValidationError as exc:
        return Decision("deny", ["invalid_args"], detail=args_errors(exc))


def _error_text(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "not an argument of this action"
    if kind == "decimal_max_places":
        return f"at most {ctx['decimal_places']} decimals"
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return "required"
        return f"at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        return f"at least {ctx.get('min_length')} needed"
    if kind == "greater_than":
        return f"must be more than {ctx.get('gt')}"
    if kind in ("model_type", "dict_type"):
        return "must be an object of named arguments"
    if kind in ("string_type", "list_type"):
        return "must be text" if kind == "string_type" else "must be a list"
    return str(error["msg"])


def args_errors(exc: ValidationError) -> str:
    """Which arguments are wrong and why, for people: "amount: at most 2 decimals"."""
    parts = []
    for error in exc.errors(include_url=False):
        # The names come from the caller: a control character in one is shown as U+FFFD.
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        where = "".join(c if c.isprintable() else "\ufffd" for c in where)
        parts.append(f"{where}: {_error_text(error)}")
    return "; ".join(dict.fromkeys(parts))
