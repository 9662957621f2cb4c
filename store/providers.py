"""Where the desk reads account context from: the built-in models or a shop's own backend.

Both providers return the same frozen records, so nothing above this module knows which store
answered. The HTTP adapter's API is documented in docs/store-provider.md.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol
from urllib.parse import quote

import httpx2
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Prefetch, QuerySet
from pydantic import AwareDatetime, TypeAdapter, ValidationError

from store.models import (
    Customer,
    Order,
    PaymentMethod,
    PriorContact,
    Product,
    Subscription,
    Variant,
)


@dataclass(frozen=True, slots=True)
class PaymentMethodRecord:
    payment_method_id: str
    source: str
    # Masked for display ("visa •••• 4242"); a provider never hands the desk a card number.
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


@dataclass(frozen=True, slots=True)
class OrderRecord:
    order_id: str
    customer_id: str
    status: str
    created_at: AwareDatetime
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
    started_at: AwareDatetime
    price: Decimal
    renews_at: AwareDatetime | None = None
    payment_method_id: str = ""


@dataclass(frozen=True, slots=True)
class ContactRecord:
    channel: str
    topic: str
    outcome: str
    contacted_at: AwareDatetime


class StoreUnavailable(Exception):
    """The store could not answer: unreachable, too slow, failing, or answering nonsense."""


class StoreProvider(Protocol):
    def customer_get(self, *, customer_id: str) -> CustomerRecord | None: ...

    def customer_find_by_email(self, *, email: str) -> CustomerRecord | None: ...

    def customer_find_by_name_zip(
        self, *, first_name: str, last_name: str, zip: str
    ) -> CustomerRecord | None: ...

    def orders_for_customer(self, *, customer_id: str, limit: int = 50) -> list[OrderRecord]: ...

    def order_get(self, *, order_id: str) -> OrderRecord | None: ...

    def product_get(self, *, product_id: str) -> ProductRecord | None: ...

    def subscriptions_for_customer(self, *, customer_id: str) -> list[SubscriptionRecord]: ...

    def contacts_for_customer(
        self, *, customer_id: str, since: datetime | None = None
    ) -> list[ContactRecord]: ...


def _customer_record(customer: Customer) -> CustomerRecord:
    return CustomerRecord(
        customer_id=customer.customer_id,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=customer.phone,
        address=customer.address,
        tier=customer.tier,
        lifetime_value=customer.lifetime_value,
        payment_methods=tuple(
            PaymentMethodRecord(
                payment_method_id=method.method_id,
                source=method.source,
                label=method.masked,
                balance=method.balance,
            )
            for method in customer.payment_methods.all()
        ),
    )


def _order_record(order: Order) -> OrderRecord:
    return OrderRecord(
        order_id=order.order_id,
        customer_id=order.customer.customer_id,
        status=order.status,
        created_at=order.created_at,
        total=order.total,
        address=order.address,
        items=tuple(
            OrderItemRecord(
                item_id=item.item_id,
                product_id=item.product_id,
                name=item.name,
                price=item.price,
                options=item.options,
            )
            for item in order.items.all()
        ),
        fulfillments=tuple(
            FulfillmentRecord(
                tracking_ids=tuple(fulfillment.tracking_ids),
                item_ids=tuple(fulfillment.item_ids),
                carrier=fulfillment.carrier,
            )
            for fulfillment in order.fulfillments.all()
        ),
        payments=tuple(
            PaymentRecord(
                transaction_type=payment.transaction_type,
                amount=payment.amount,
                payment_method_id=payment.payment_method_id,
            )
            for payment in order.payments.all()
        ),
    )


class DjangoStoreProvider:
    """The built-in store: every call costs a fixed number of queries, however big the account."""

    def _customers(self) -> QuerySet[Customer]:
        return Customer.objects.prefetch_related(
            Prefetch("payment_methods", queryset=PaymentMethod.objects.order_by("id"))
        ).order_by("id")

    def _orders(self) -> QuerySet[Order]:
        # Items, fulfillments and payments keep their models' id ordering.
        return Order.objects.select_related("customer").prefetch_related(
            "items", "fulfillments", "payments"
        )

    def customer_get(self, *, customer_id: str) -> CustomerRecord | None:
        customer = self._customers().filter(customer_id=customer_id).first()
        return _customer_record(customer) if customer else None

    def customer_find_by_email(self, *, email: str) -> CustomerRecord | None:
        customer = self._customers().filter(email=email).first()
        return _customer_record(customer) if customer else None

    def customer_find_by_name_zip(
        self, *, first_name: str, last_name: str, zip: str
    ) -> CustomerRecord | None:
        customer = (
            self._customers().filter(first_name=first_name, last_name=last_name, zip=zip).first()
        )
        return _customer_record(customer) if customer else None

    def orders_for_customer(self, *, customer_id: str, limit: int = 50) -> list[OrderRecord]:
        orders = (
            self._orders()
            .filter(customer__customer_id=customer_id)
            .order_by("-created_at", "-id")[:limit]
        )
        return [_order_record(order) for order in orders]

    def order_get(self, *, order_id: str) -> OrderRecord | None:
        order = self._orders().filter(order_id=order_id).first()
        return _order_record(order) if order else None

    def product_get(self, *, product_id: str) -> ProductRecord | None:
        product = (
            Product.objects.prefetch_related(
                Prefetch("variants", queryset=Variant.objects.order_by("id"))
            )
            .filter(product_id=product_id)
            .first()
        )
        if product is None:
            return None
        return ProductRecord(
            product_id=product.product_id,
            name=product.name,
            variants=tuple(
                VariantRecord(
                    item_id=variant.item_id,
                    price=variant.price,
                    available=variant.available,
                    options=variant.options,
                )
                for variant in product.variants.all()
            ),
        )

    def subscriptions_for_customer(self, *, customer_id: str) -> list[SubscriptionRecord]:
        subscriptions = Subscription.objects.filter(customer__customer_id=customer_id).order_by(
            "-started_at", "-id"
        )
        return [
            SubscriptionRecord(
                subscription_id=subscription.subscription_id,
                plan=subscription.plan,
                status=subscription.status,
                started_at=subscription.started_at,
                price=subscription.price,
                renews_at=subscription.renews_at,
                payment_method_id=subscription.payment_method_id,
            )
            for subscription in subscriptions
        ]

    def contacts_for_customer(
        self, *, customer_id: str, since: datetime | None = None
    ) -> list[ContactRecord]:
        contacts = PriorContact.objects.filter(customer__customer_id=customer_id)
        if since is not None:
            contacts = contacts.filter(contacted_at__gte=since)
        return [
            ContactRecord(
                channel=contact.channel,
                topic=contact.topic,
                outcome=contact.outcome,
                contacted_at=contact.contacted_at,
            )
            for contact in contacts.order_by("-contacted_at", "-id")
        ]


_CUSTOMER = TypeAdapter(CustomerRecord)
_CUSTOMERS = TypeAdapter(list[CustomerRecord])
_ORDER = TypeAdapter(OrderRecord)
_ORDERS = TypeAdapter(list[OrderRecord])
_PRODUCT = TypeAdapter(ProductRecord)
_SUBSCRIPTIONS = TypeAdapter(list[SubscriptionRecord])
_CONTACTS = TypeAdapter(list[ContactRecord])


class HttpStoreProvider:
    """A shop's own commerce backend, over the JSON API in docs/store-provider.md.

    404 means "no such thing"; anything else that is not a valid 2xx answer raises
    StoreUnavailable, so a caller never acts on a half-read account.
    """

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 5.0) -> None:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url
        self.timeout = timeout
        self._client = httpx2.Client(base_url=base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpStoreProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _get[T](
        self,
        adapter: TypeAdapter[T],
        *segments: str,
        params: Mapping[str, str | int] | None = None,
    ) -> T | None:
        # Ids are quoted as whole segments: order ids start with "#", which would end the path.
        path = "/".join(quote(segment, safe="") for segment in segments)
        where = f"GET {self.base_url.rstrip('/')}/{path}"
        try:
            response = self._client.get(path, params=params)
        except httpx2.TimeoutException as exc:
            raise StoreUnavailable(
                f"store backend did not answer within {self.timeout}s: {where}"
            ) from exc
        except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
            raise StoreUnavailable(f"store backend unreachable: {where}: {exc}") from exc
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise StoreUnavailable(
                f"store backend answered {response.status_code} to {where}: {response.text[:200]}"
            )
        try:
            return adapter.validate_json(response.content)
        except ValidationError as exc:
            first = exc.errors()[0]
            at = ".".join(str(part) for part in first["loc"]) or "top level"
            raise StoreUnavailable(
                f"store backend sent a malformed answer to {where}: {first['msg']} at {at}"
                f" ({exc.error_count()} error(s))"
            ) from exc

    def customer_get(self, *, customer_id: str) -> CustomerRecord | None:
        return self._get(_CUSTOMER, "customers", customer_id)

    def customer_find_by_email(self, *, email: str) -> CustomerRecord | None:
        found = self._get(_CUSTOMERS, "customers", params={"email": email})
        return found[0] if found else None

    def customer_find_by_name_zip(
        self, *, first_name: str, last_name: str, zip: str
    ) -> CustomerRecord | None:
        found = self._get(
            _CUSTOMERS,
            "customers",
            params={"first_name": first_name, "last_name": last_name, "zip": zip},
        )
        return found[0] if found else None

    def orders_for_customer(self, *, customer_id: str, limit: int = 50) -> list[OrderRecord]:
        orders = self._get(_ORDERS, "customers", customer_id, "orders", params={"limit": limit})
        return (orders or [])[:limit]

    def order_get(self, *, order_id: str) -> OrderRecord | None:
        return self._get(_ORDER, "orders", order_id)

    def product_get(self, *, product_id: str) -> ProductRecord | None:
        return self._get(_PRODUCT, "products", product_id)

    def subscriptions_for_customer(self, *, customer_id: str) -> list[SubscriptionRecord]:
        return self._get(_SUBSCRIPTIONS, "customers", customer_id, "subscriptions") or []

    def contacts_for_customer(
        self, *, customer_id: str, since: datetime | None = None
    ) -> list[ContactRecord]:
        params = {"since": since.isoformat()} if since is not None else None
        return self._get(_CONTACTS, "customers", customer_id, "contacts", params=params) or []


@functools.cache
def _http_store_provider(*, base_url: str, token: str | None, timeout: float) -> HttpStoreProvider:
    # One provider per configuration, so its connection pool is reused across requests.
    return HttpStoreProvider(base_url, token=token, timeout=timeout)


def store_provider() -> StoreProvider:
    """The configured store: BATON_STORE_PROVIDER is "django" (the default) or "http"."""
    kind = getattr(settings, "BATON_STORE_PROVIDER", "django") or "django"
    if kind == "django":
        return DjangoStoreProvider()
    if kind == "http":
        base_url = getattr(settings, "BATON_STORE_URL", "")
        if not base_url:
            raise ImproperlyConfigured(
                "BATON_STORE_PROVIDER is 'http' but BATON_STORE_URL is unset"
            )
        return _http_store_provider(
            base_url=base_url,
            token=getattr(settings, "BATON_STORE_TOKEN", None) or None,
            timeout=float(getattr(settings, "BATON_STORE_TIMEOUT", 5.0)),
        )
    raise ImproperlyConfigured(f"BATON_STORE_PROVIDER must be 'django' or 'http', not {kind!r}")
