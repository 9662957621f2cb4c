from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

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
from store.providers import (
    CustomerRecord,
    DjangoStoreProvider,
    HttpStoreProvider,
    OrderRecord,
    StoreUnavailable,
    store_provider,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ADDRESS = {
    "address1": "986 Sunset Drive",
    "address2": "Suite 259",
    "city": "Denver",
    "country": "USA",
    "state": "CO",
    "zip": "80279",
}


def make_customer(customer_id: str = "noah_brown_6181") -> Customer:
    customer = Customer.objects.create(
        customer_id=customer_id,
        first_name="Noah",
        last_name="Brown",
        email=f"{customer_id}@example.com",
        phone="555-0100",
        address=ADDRESS,
        zip="80279",
        tier=Customer.Tier.GOLD,
        lifetime_value=Decimal("1234.50"),
    )
    PaymentMethod.objects.create(
        method_id=f"credit_card_{customer_id}",
        customer=customer,
        source=PaymentMethod.Source.CREDIT_CARD,
        brand="visa",
        last_four="4242",
    )
    PaymentMethod.objects.create(
        method_id=f"gift_card_{customer_id}",
        customer=customer,
        source=PaymentMethod.Source.GIFT_CARD,
        balance=Decimal("40.00"),
    )
    return customer


def make_order(customer: Customer, n: int, *, items: int = 2) -> Order:
    order = Order.objects.create(
        order_id=f"#W{n:07d}",
        customer=customer,
        status=Order.Status.DELIVERED,
        address=ADDRESS,
        total=Decimal("20.00") * items,
        created_at=NOW - timedelta(days=n),
    )
    OrderItem.objects.bulk_create(
        OrderItem(
            order=order,
            item_id=f"item-{n}-{i}",
            product_id="8310926033",
            name="Water Bottle",
            options={"capacity": "1000ml"},
            price=Decimal("20.00"),
        )
        for i in range(items)
    )
    Fulfillment.objects.create(
        order=order,
        tracking_ids=[f"TRK{n}"],
        item_ids=[f"item-{n}-{i}" for i in range(items)],
        carrier="UPS",
    )
    Payment.objects.create(
        order=order,
        transaction_type=Payment.Type.PAYMENT,
        amount=order.total,
        payment_method_id=f"credit_card_{customer.customer_id}",
    )
    return order


# The built-in store.


@pytest.mark.django_db
def test_django_customer_lookups_return_masked_payment_methods(
    django_assert_num_queries: Any,
) -> None:
    make_customer()
    provider = DjangoStoreProvider()

    with django_assert_num_queries(2):
        by_id = provider.customer_get(customer_id="noah_brown_6181")
    by_email = provider.customer_find_by_email(email="noah_brown_6181@example.com")
    by_name = provider.customer_find_by_name_zip(first_name="Noah", last_name="Brown", zip="80279")

    assert by_id is not None
    assert by_id == by_email == by_name
    assert by_id.name == "Noah Brown"
    assert by_id.tier == "gold"
    assert by_id.lifetime_value == Decimal("1234.50")
    assert by_id.address == ADDRESS
    card, gift = by_id.payment_methods
    assert (card.payment_method_id, card.source, card.label) == (
        "credit_card_noah_brown_6181",
        "credit_card",
        "visa •••• 4242",
    )
    assert card.balance is None
    assert gift.balance == Decimal("40.00")


@pytest.mark.django_db
def test_django_unknown_things_are_none_or_empty() -> None:
    provider = DjangoStoreProvider()

    assert provider.customer_get(customer_id="nobody") is None
    assert provider.customer_find_by_email(email="nobody@example.com") is None
    assert provider.customer_find_by_name_zip(first_name="No", last_name="Body", zip="0") is None
    assert provider.order_get(order_id="#W0000000") is None
    assert provider.product_get(product_id="0") is None
    assert provider.orders_for_customer(customer_id="nobody") == []
    assert provider.subscriptions_for_customer(customer_id="nobody") == []
    assert provider.contacts_for_customer(customer_id="nobody") == []


@pytest.mark.django_db
def test_django_order_get_has_items_fulfillments_and_payments() -> None:
    make_order(make_customer(), 1)

    order = DjangoStoreProvider().order_get(order_id="#W0000001")

    assert order is not None
    assert order.customer_id == "noah_brown_6181"
    assert order.status == "delivered"
    assert order.total == Decimal("40.00")
    assert [item.item_id for item in order.items] == ["item-1-0", "item-1-1"]
    assert order.items[0].options == {"capacity": "1000ml"}
    assert order.fulfillments[0].tracking_ids == ("TRK1",)
    assert order.fulfillments[0].carrier == "UPS"
    assert order.payments[0].transaction_type == "payment"
    assert order.payments[0].amount == Decimal("40.00")


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 20])
def test_django_orders_for_customer_costs_the_same_queries_for_any_count(
    count: int, django_assert_num_queries: Any
) -> None:
    customer = make_customer()
    for n in range(1, count + 1):
        make_order(customer, n, items=3)
    provider = DjangoStoreProvider()

    # Orders with their customer, then items, fulfillments and payments.
    with django_assert_num_queries(4):
        orders = provider.orders_for_customer(customer_id=customer.customer_id)

    assert len(orders) == count
    assert orders[0].order_id == "#W0000001"  # newest first
    assert all(len(order.items) == 3 for order in orders)


@pytest.mark.django_db
def test_django_orders_for_customer_respects_limit() -> None:
    customer = make_customer()
    for n in range(1, 6):
        make_order(customer, n)

    orders = DjangoStoreProvider().orders_for_customer(customer_id=customer.customer_id, limit=2)

    assert [order.order_id for order in orders] == ["#W0000001", "#W0000002"]


@pytest.mark.django_db
def test_django_product_subscriptions_and_contacts(django_assert_num_queries: Any) -> None:
    customer = make_customer()
    product = Product.objects.create(product_id="8310926033", name="Water Bottle")
    Variant.objects.create(
        item_id="6469567736", product=product, options={"color": "blue"}, price=Decimal("47.84")
    )
    Variant.objects.create(
        item_id="6469567737",
        product=product,
        options={"color": "red"},
        price=Decimal("48.00"),
        available=False,
    )
    Subscription.objects.create(
        subscription_id="sub_1",
        customer=customer,
        plan="Trail Club",
        started_at=NOW - timedelta(days=40),
        renews_at=NOW + timedelta(days=20),
        price=Decimal("9.99"),
        payment_method_id="credit_card_noah_brown_6181",
    )
    for days, topic in [(2, "where is my order"), (60, "sizing")]:
        PriorContact.objects.create(
            customer=customer,
            topic=topic,
            outcome=PriorContact.Outcome.RESOLVED,
            contacted_at=NOW - timedelta(days=days),
        )
    provider = DjangoStoreProvider()

    with django_assert_num_queries(2):
        found = provider.product_get(product_id="8310926033")
    subscriptions = provider.subscriptions_for_customer(customer_id=customer.customer_id)
    recent = provider.contacts_for_customer(
        customer_id=customer.customer_id, since=NOW - timedelta(days=30)
    )
    everything = provider.contacts_for_customer(customer_id=customer.customer_id)

    assert found is not None
    assert [(v.item_id, v.available) for v in found.variants] == [
        ("6469567736", True),
        ("6469567737", False),
    ]
    assert [(s.subscription_id, s.plan, s.price) for s in subscriptions] == [
        ("sub_1", "Trail Club", Decimal("9.99"))
    ]
    assert [c.topic for c in recent] == ["where is my order"]
    assert [c.topic for c in everything] == ["where is my order", "sizing"]


@pytest.mark.django_db
def test_store_provider_follows_settings() -> None:
    assert isinstance(store_provider(), DjangoStoreProvider)
    with override_settings(
        BATON_STORE_PROVIDER="http", BATON_STORE_URL="http://127.0.0.1:9/api", BATON_STORE_TOKEN="t"
    ):
        provider = store_provider()
        assert isinstance(provider, HttpStoreProvider)
        assert store_provider() is provider
    with (
        override_settings(BATON_STORE_PROVIDER="http", BATON_STORE_URL=""),
        pytest.raises(ImproperlyConfigured),
    ):
        store_provider()
    with override_settings(BATON_STORE_PROVIDER="shopify"), pytest.raises(ImproperlyConfigured):
        store_provider()


# The HTTP adapter, against a real local server.

CUSTOMER_JSON: dict[str, Any] = {
    "customer_id": "noah_brown_6181",
    "first_name": "Noah",
    "last_name": "Brown",
    "email": "noah.brown@example.com",
    "phone": "555-0100",
    "address": ADDRESS,
    "tier": "gold",
    "lifetime_value": "1234.50",
    "payment_methods": [
        {"payment_method_id": "credit_card_1", "source": "credit_card", "label": "visa •••• 4242"},
        {
            "payment_method_id": "gift_card_1",
            "source": "gift_card",
            "label": "gift card",
            "balance": 40,
        },
    ],
}

ORDER_JSON: dict[str, Any] = {
    "order_id": "#W2611340",
    "customer_id": "noah_brown_6181",
    "status": "processed",
    "created_at": "2025-02-27T10:15:00Z",
    "total": "536.65",
    "address": ADDRESS,
    "items": [
        {
            "item_id": "6469567736",
            "product_id": "8310926033",
            "name": "Water Bottle",
            "options": {"capacity": "1000ml", "color": "blue"},
            "price": 47.84,
        }
    ],
    "fulfillments": [{"tracking_ids": ["357962501027"], "item_ids": ["6469567736"]}],
    "payments": [
        {"transaction_type": "payment", "amount": "47.84", "payment_method_id": "gift_card_1"}
    ],
}

Reply = tuple[int, bytes]


@dataclass
class StoreServer:
    url: str
    routes: dict[str, Reply | Callable[[], Reply]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def json(self, path: str, body: Any, status: int = 200) -> None:
        self.routes[path] = (status, json.dumps(body).encode())


@pytest.fixture
def store_server() -> Iterator[StoreServer]:
    """A real HTTP server on 127.0.0.1 answering canned replies by decoded path."""
    server_state: dict[str, StoreServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state = server_state["state"]
            target = urlsplit(self.path)
            path = unquote(target.path)
            state.requests.append(
                {
                    "raw_path": target.path,
                    "path": path,
                    "query": parse_qs(target.query),
                    "authorization": self.headers.get("Authorization"),
                }
            )
            reply = state.routes.get(path, (404, b'{"detail": "not found"}'))
            status, body = reply() if callable(reply) else reply
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting, as the timeout test means it to

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state["state"] = StoreServer(url=f"http://127.0.0.1:{server.server_port}/api")
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server_state["state"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def http_provider(store_server: StoreServer) -> Iterator[HttpStoreProvider]:
    with HttpStoreProvider(store_server.url, token="s3cret", timeout=0.5) as provider:
        yield provider


def test_http_customer_found_and_bearer_token_sent(
    store_server: StoreServer, http_provider: HttpStoreProvider
) -> None:
    store_server.json("/api/customers/noah_brown_6181", CUSTOMER_JSON)

    customer = http_provider.customer_get(customer_id="noah_brown_6181")

    assert isinstance(customer, CustomerRecord)
    assert customer.name == "Noah Brown"
    assert customer.lifetime_value == Decimal("1234.50")
    assert customer.payment_methods[0].label == "visa •••• 4242"
    assert customer.payment_methods[1].balance == Decimal(40)
    assert store_server.requests[0]["authorization"] == "Bearer s3cret"


def test_http_no_token_sends_no_authorization(store_server: StoreServer) -> None:
    store_server.json("/api/customers/noah_brown_6181", CUSTOMER_JSON)

    with HttpStoreProvider(store_server.url) as provider:
        provider.customer_get(customer_id="noah_brown_6181")

    assert store_server.requests[0]["authorization"] is None


def test_http_customer_searches_send_query_params(
    store_server: StoreServer, http_provider: HttpStoreProvider
) -> None:
    store_server.json("/api/customers", [CUSTOMER_JSON])

    by_email = http_provider.customer_find_by_email(email="noah.brown+shop@example.com")
    by_name = http_provider.customer_find_by_name_zip(
        first_name="Noah", last_name="Brown", zip="80279"
    )
    store_server.json("/api/customers", [])
    nobody = http_provider.customer_find_by_email(email="nobody@example.com")

    assert by_email == by_name
    assert by_email is not None
    assert by_email.customer_id == "noah_brown_6181"
    assert nobody is None
    assert store_server.requests[0]["query"] == {"email": ["noah.brown+shop@example.com"]}
    assert store_server.requests[1]["query"] == {
        "first_name": ["Noah"],
        "last_name": ["Brown"],
        "zip": ["80279"],
    }


def test_http_order_id_with_hash_round_trips(
    store_server: StoreServer, http_provider: HttpStoreProvider
) -> None:
    store_server.json("/api/orders/#W2611340", ORDER_JSON)

    order = http_provider.order_get(order_id="#W2611340")

    assert isinstance(order, OrderRecord)
    assert order.order_id == "#W2611340"
    assert order.created_at == datetime(2025, 2, 27, 10, 15, tzinfo=UTC)
    assert order.items[0].price == Decimal("47.84")
    assert order.fulfillments[0].tracking_ids == ("357962501027",)
    assert order.payments[0].payment_method_id == "gift_card_1"
    assert store_server.requests[0]["raw_path"] == "/api/orders/%23W2611340"


def test_http_lists_and_their_params(
    store_server: StoreServer, http_provider: HttpStoreProvider
) -> None:
    store_server.json("/api/customers/noah_brown_6181/orders", [ORDER_JSON])
    store_server.json(
        "/api/customers/noah_brown_6181/subscriptions",
        [
            {
                "subscription_id": "sub_1",
                "plan": "Trail Club",
                "status": "active",
                "started_at": "2025-01-20T00:00:00+00:00",
                "renews_at": None,
                "price": "9.99",
            }
        ],
    )
    store_server.json(
        "/api/customers/noah_brown_6181/contacts",
        [
            {
                "channel": "email",
                "topic": "sizing",
                "outcome": "resolved",
                "contacted_at": "2025-02-20T09:00:00Z",
            }
        ],
    )
    store_server.json(
        "/api/products/8310926033",
        {
            "product_id": "8310926033",
            "name": "Water Bottle",
            "variants": [
                {
                    "item_id": "6469567736",
                    "options": {"color": "blue"},
                    "price": "47.84",
                    "available": True,
                }
            ],
        },
    )
    since = datetime(2025, 2, 1, tzinfo=UTC)

    orders = http_provider.orders_for_customer(customer_id="noah_brown_6181", limit=10)
    subscriptions = http_provider.subscriptions_for_customer(customer_id="noah_brown_6181")
    contacts = http_provider.contacts_for_customer(customer_id="noah_brown_6181", since=since)
    product = http_provider.product_get(product_id="8310926033")

    assert [order.order_id for order in orders] == ["#W2611340"]
    assert subscriptions[0].renews_at is None
    assert contacts[0].topic == "sizing"
    assert product is not None
    assert product.variants[0].available is True
    assert store_server.requests[0]["query"] == {"limit": ["10"]}
    assert datetime.fromisoformat(store_server.requests[2]["query"]["since"][0]) == since


def test_http_404_is_none_or_empty(http_provider: HttpStoreProvider) -> None:
    assert http_provider.customer_get(customer_id="nobody") is None
    assert http_provider.order_get(order_id="#W0000000") is None
    assert http_provider.product_get(product_id="0") is None
    assert http_provider.orders_for_customer(customer_id="nobody") == []
    assert http_provider.subscriptions_for_customer(customer_id="nobody") == []
    assert http_provider.contacts_for_customer(customer_id="nobody") == []


def test_http_server_error_is_unavailable(
    store_server: StoreServer, http_provider: HttpStoreProvider
) -> None:
    store_server.json("/api/customers/noah_brown_6181", {"detail": "database down"}, status=500)

    with pytest.raises(StoreUnavailable, match="answered 500"):
        http_provider.customer_get(customer_id="noah_brown_6181")


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"customer_id": "noah_brown_6181"}',
        json.dumps({**CUSTOMER_JSON, "lifetime_value": "lots"}).encode(),
        json.dumps({**CUSTOMER_JSON, "payment_methods": [{"source": "paypal"}]}).encode(),
    ],
    ids=["not-json", "missing-fields", "bad-decimal", "half-built-payment-method"],
)
def test_http_malformed_answer_is_unavailable(
    body: bytes, store_server: StoreServer, http_provider: HttpStoreProvider
) -> None:
    store_server.routes["/api/customers/noah_brown_6181"] = (200, body)

    with pytest.raises(StoreUnavailable, match="malformed"):
        http_provider.customer_get(customer_id="noah_brown_6181")


def test_http_naive_timestamps_are_malformed(
    store_server: StoreServer, http_provider: HttpStoreProvider
) -> None:
    store_server.json("/api/orders/#W2611340", {**ORDER_JSON, "created_at": "2025-02-27T10:15:00"})

    with pytest.raises(StoreUnavailable, match="malformed"):
        http_provider.order_get(order_id="#W2611340")


def test_http_slow_answer_is_unavailable(
    store_server: StoreServer, http_provider: HttpStoreProvider
) -> None:
    def slow() -> Reply:
        time.sleep(1.5)
        return 200, json.dumps(CUSTOMER_JSON).encode()

    store_server.routes["/api/customers/noah_brown_6181"] = slow

    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"did not answer within 0\.5s"):
        http_provider.customer_get(customer_id="noah_brown_6181")
    assert time.monotonic() - started < 1.5


def test_http_unreachable_is_unavailable() -> None:
    # A port that was just free: nothing listens there.
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_port

    with (
        HttpStoreProvider(f"http://127.0.0.1:{port}/api", timeout=0.5) as provider,
        pytest.raises(StoreUnavailable, match="unreachable"),
    ):
        provider.customer_get(customer_id="noah_brown_6181")
