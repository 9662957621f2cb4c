"""The action catalog: every tool the AI, an agent or a supervisor can call.

Each tool's arguments are a pydantic model; its JSON schema is usable as-is as an OpenAI tool
definition. Consequential tools write to the store and always pass the policy layer.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

CANCEL_REASONS = ("no longer needed", "ordered by mistake")


def _one_line(value: str) -> str:
    # Control characters belong in no id, name or address, and PostgreSQL cannot even store NUL:
    # refused here, they are invalid_args rather than a database error.
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("must not contain control characters")
    return value


def _text(value: str) -> str:
    # Free text may run over lines; other control characters are refused as in _one_line.
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in value):
        raise ValueError("must not contain control characters other than line breaks and tabs")
    return value


OneLine = AfterValidator(_one_line)
Id = Annotated[str, StringConstraints(min_length=1, max_length=64), OneLine]
Money = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(_text)]


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FindCustomerByEmail(Args):
    email: Annotated[str, StringConstraints(min_length=3, max_length=254), OneLine]


class FindCustomerByNameZip(Args):
    first_name: Annotated[str, StringConstraints(min_length=1, max_length=100), OneLine]
    last_name: Annotated[str, StringConstraints(min_length=1, max_length=100), OneLine]
    zip: Annotated[str, StringConstraints(min_length=1, max_length=20), OneLine]


class GetCustomer(Args):
    user_id: Id


class GetOrder(Args):
    order_id: Id


class GetProduct(Args):
    product_id: Id


class ListOrders(Args):
    user_id: Id


class CancelPendingOrder(Args):
    order_id: Id
    # Checked by the policy (bad_cancel_reason), not here, so a wrong reason is a decision.
    reason: Reason = Field(json_schema_extra={"enum": list(CANCEL_REASONS)})


class Address(Args):
    address1: Annotated[str, StringConstraints(min_length=1, max_length=200), OneLine]
    address2: Annotated[str, StringConstraints(max_length=200), OneLine]
    city: Annotated[str, StringConstraints(min_length=1, max_length=100), OneLine]
    state: Annotated[str, StringConstraints(min_length=1, max_length=100), OneLine]
    country: Annotated[str, StringConstraints(min_length=1, max_length=100), OneLine]
    zip: Annotated[str, StringConstraints(min_length=1, max_length=20), OneLine]


class ModifyPendingOrderAddress(Address):
    order_id: Id


class ModifyPendingOrderItems(Args):
    order_id: Id
    item_ids: Annotated[list[Id], Field(min_length=1)]
    new_item_ids: Annotated[list[Id], Field(min_length=1)]
    payment_method_id: Id


class ModifyPendingOrderPayment(Args):
    order_id: Id
    payment_method_id: Id


class ReturnDeliveredOrderItems(Args):
    order_id: Id
    item_ids: Annotated[list[Id], Field(min_length=1)]
    payment_method_id: Id


class ExchangeDeliveredOrderItems(Args):
    order_id: Id
    item_ids: Annotated[list[Id], Field(min_length=1)]
    new_item_ids: Annotated[list[Id], Field(min_length=1)]
    payment_method_id: Id


class ModifyUserAddress(Address):
    user_id: Id


class RefundPayment(Args):
    order_id: Id
    amount: Money
    reason: Reason


class IssueStoreCredit(Args):
    user_id: Id
    amount: Money
    reason: Reason


class RefundSubscription(Args):
    subscription_id: Id
    reason: Reason


class ResendConfirmation(Args):
    order_id: Id


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[Args]
    consequential: bool

    def openai_definition(self) -> dict[str, Any]:
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": schema},
        }


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in [
        Tool(
            "find_user_id_by_email",
            "Find a customer's user id by email.",
            FindCustomerByEmail,
            False,
        ),
        Tool(
            "find_user_id_by_name_zip",
            "Find a customer's user id by first name, last name and zip code.",
            FindCustomerByNameZip,
            False,
        ),
        Tool(
            "get_user_details",
            "A customer's profile, payment methods and orders.",
            GetCustomer,
            False,
        ),
        Tool(
            "get_order_details",
            "An order's status, items, fulfillments and payments.",
            GetOrder,
            False,
        ),
        Tool("get_product_details", "A product and its variants.", GetProduct, False),
        Tool("list_user_orders", "A customer's orders, newest first.", ListOrders, False),
        Tool(
            "cancel_pending_order",
            "Cancel a pending order. Reason: 'no longer needed' or 'ordered by mistake'. "
            "Refunds go to the original payment methods.",
            CancelPendingOrder,
            True,
        ),
        Tool(
            "modify_pending_order_address",
            "Change a pending order's shipping address.",
            ModifyPendingOrderAddress,
            True,
        ),
        Tool(
            "modify_pending_order_items",
            "Swap items of a pending order for available variants of the same products; once "
            "per order. The price difference is paid or refunded with the given payment method.",
            ModifyPendingOrderItems,
            True,
        ),
        Tool(
            "modify_pending_order_payment",
            "Pay a pending order with another of the customer's payment methods.",
            ModifyPendingOrderPayment,
            True,
        ),
        Tool(
            "return_delivered_order_items",
            "Request a return of delivered items; the refund goes to the original payment "
            "method or a gift card of the customer's.",
            ReturnDeliveredOrderItems,
            True,
        ),
        Tool(
            "exchange_delivered_order_items",
            "Exchange delivered items for available variants of the same products.",
            ExchangeDeliveredOrderItems,
            True,
        ),
        Tool(
            "modify_user_address", "Change the customer's default address.", ModifyUserAddress, True
        ),
        Tool(
            "refund_payment",
            "Refund part or all of an order's payment to its original payment method.",
            RefundPayment,
            True,
        ),
        Tool(
            "issue_store_credit",
            "Add store credit to the customer's gift card (a new one if they have none).",
            IssueStoreCredit,
            True,
        ),
        Tool(
            "refund_subscription",
            "Refund and cancel a subscription's current period.",
            RefundSubscription,
            True,
        ),
        Tool(
            "resend_confirmation",
            "Send the order confirmation email again.",
            ResendConfirmation,
            True,
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
