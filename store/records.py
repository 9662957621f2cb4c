"""What the store's selectors return: frozen snapshots of an account, safe to show and to serialise.

A record carries no model instance, so a template or a read tool cannot lazily query through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class PaymentMethodRecord:
    payment_method_id: str
    source: str
    # Masked for display ("visa •••• 4242"); the desk is never handed a card number.
    label: str
    balance: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    customer_id: str
    first_name: str
    last_name: str
    email: str
    phone: str = ""
    address: dict[str, str] = field(default_factory=dict)
    tier: str = "standard"
    lifetime_value: Decimal = Decimal(0)
    payment_methods: tuple[PaymentMethodRecord, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class OrderItemRecord:
    item_id: str
    product_id: str
    name: str
    price: Decimal
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FulfillmentRecord:
    tracking_ids: tuple[str, ...] = ()
    item_ids: tuple[str, ...] = ()
    carrier: str = ""


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    transaction_type: str
    amount: Decimal
    payment_method_id: str
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    order_id: str
    customer_id: str
    status: str
    created_at: datetime
    total: Decimal
    address: dict[str, str] = field(default_factory=dict)
    items: tuple[OrderItemRecord, ...] = ()
    fulfillments: tuple[FulfillmentRecord, ...] = ()
    payments: tuple[PaymentRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class VariantRecord:
    item_id: str
    price: Decimal
    available: bool
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProductRecord:
    product_id: str
    name: str
    variants: tuple[VariantRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    subscription_id: str
    plan: str
    status: str
    started_at: datetime
    price: Decimal
    renews_at: datetime | None = None
    payment_method_id: str = ""


@dataclass(frozen=True, slots=True)
class ContactRecord:
    channel: str
    topic: str
    outcome: str
    contacted_at: datetime
