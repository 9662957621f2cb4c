"""The arguments of each catalog tool, as pydantic models: their JSON schemas are usable as-is
as OpenAI tool definitions (actions/catalog.py)."""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

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
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]{1,2})?", re.ASCII)


def _amount(value: Any) -> Any:
    # Python reads Arabic-Indic or full-width digits, "50\u00a0" and "5_0" as 50; an amount is
    # written with ASCII digits and at most two decimals, or is a finite JSON number.
    if isinstance(value, str):
        if not _AMOUNT.fullmatch(value):
            raise ValueError(
                "a positive amount with at most 2 decimals, in ASCII digits (e.g. 49.90)"
            )
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("an amount must be finite")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("an amount is a number or a string of digits")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("an amount must be finite")
    return value


Money = Annotated[Decimal, BeforeValidator(_amount), Field(gt=0, max_digits=12, decimal_places=2)]
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
