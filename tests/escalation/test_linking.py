from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from escalation.entities import extract_entities, product_names
from escalation.linking import Link, link_account
from store.models import Customer
from tests.factories import CustomerFactory, OrderFactory


@pytest.fixture(autouse=True)
def empty_catalogue(db: None) -> Iterator[None]:
    product_names.cache_clear()
    yield
    product_names.cache_clear()


def customer(customer_id: str, first: str, last: str, zip: str, email: str = "") -> Customer:
    return CustomerFactory(
        customer_id=customer_id,
        first_name=first,
        last_name=last,
        zip=zip,
        email=email or f"{customer_id}@example.com",
    )


def link(turns: Sequence[tuple[str, str]], **reference: str) -> Link:
    entities = [
        entity
        for index, (_role, text) in enumerate(turns)
        for entity in extract_entities(text, turn=index)
    ]
    return link_account(turns=turns, entities=entities, **reference)


def test_links_by_email_in_any_case_and_the_customers_orders_in_mention_order() -> None:
    ann = customer("ann_lee_1", "Ann", "Lee", "80279", email="ann.lee@example.com")
    OrderFactory(order_id="#W1000001", customer=ann)
    OrderFactory(order_id="#W1000002", customer=ann)
    turns = [
        ("customer", "Where is order #W1000002?"),
        ("ai", "Sure. What is your email?"),
        ("customer", "Ann.Lee@Example.COM, and also W1000001 and #W1000002 again"),
    ]
    assert link(turns) == Link(
        customer_id="ann_lee_1", order_ids=["#W1000002", "#W1000001"], method="email"
    )


def test_links_by_stated_name_and_zip() -> None:
    customer("yusuf_rossi_1", "Yusuf", "Rossi", "19122")
    customer("yusuf_rossi_2", "Yusuf", "Rossi", "60601")
    turns = [("customer", "I am Yusuf Rossi in zip code 19122.")]
    assert link(turns) == Link(customer_id="yusuf_rossi_1", order_ids=[], method="name_zip")


def test_a_name_and_zip_said_without_keywords_link_when_they_match_one_customer() -> None:
    customer("aarav_anderson_1", "Aarav", "Anderson", "19031")
    customer("aarav_anderson_2", "Aarav", "Anderson", "60601")
    turns = [
        ("ai", "Could you give me your name and zip code?"),
        ("customer", "Sure, Aarav Anderson, Philadelphia 19031."),
    ]
    assert link(turns) == Link("aarav_anderson_1", [], "name_zip")


def test_a_corrected_zip_and_a_name_given_in_parts_link() -> None:
    customer("noah_ito_1", "Noah", "Ito", "98187")
    turns = [
        ("customer", "My first name is Noah, last name is Ito, and my zip code is 98178."),
        ("ai", "I couldn't find that account."),
        ("customer", "Sorry, it's actually 98187."),
    ]
    assert link(turns) == Link("noah_ito_1", [], "name_zip")


def test_links_by_the_references_name_and_a_stated_zip() -> None:
    customer("yusuf_rossi_1", "Yusuf", "Rossi", "19122")
    turns = [("customer", "my zip is 19122")]
    assert link(turns, name="yusuf rossi").customer_id == "yusuf_rossi_1"


def test_a_name_and_zip_shared_by_two_customers_links_nobody() -> None:
    customer("sam_ng_1", "Sam", "Ng", "10001")
    customer("sam_ng_2", "Sam", "Ng", "10001")
    turns = [("customer", "My name is Sam Ng, zip code 10001")]
    assert link(turns) == Link(customer_id=None, order_ids=[], method=None)


def test_a_name_without_a_zip_links_nobody() -> None:
    customer("sam_ng_1", "Sam", "Ng", "10001")
    assert link([("customer", "My name is Sam Ng")]).customer_id is None


def test_another_customers_order_is_never_linked() -> None:
    ann = customer("ann_lee_1", "Ann", "Lee", "80279", email="ann@example.com")
    bob = customer("bob_ray_1", "Bob", "Ray", "80280")
    OrderFactory(order_id="#W1000001", customer=ann)
    OrderFactory(order_id="#W2000002", customer=bob)
    turns = [("customer", "I'm ann@example.com; cancel #W2000002 and #W1000001, and #W9999999")]
    assert link(turns).order_ids == ["#W1000001"]


def test_an_email_only_the_ai_wrote_is_not_evidence() -> None:
    customer("ann_lee_1", "Ann", "Lee", "80279", email="ann@example.com")
    turns = [
        ("customer", "Hi, I need help with a return"),
        ("ai", "Is your email ann@example.com? My name is Ann Lee, zip code 80279."),
        ("customer", "I'd rather not say"),
    ]
    assert link(turns) == Link(customer_id=None, order_ids=[], method=None)


def test_order_ids_only_the_ai_mentioned_are_not_linked() -> None:
    ann = customer("ann_lee_1", "Ann", "Lee", "80279", email="ann@example.com")
    OrderFactory(order_id="#W1000001", customer=ann)
    turns = [
        ("customer", "it's ann@example.com"),
        ("ai", "Your recent order #W1000001 was paid by card."),
    ]
    assert link(turns) == Link(customer_id="ann_lee_1", order_ids=[], method="email")


def test_external_id_comes_first_then_a_stated_customer_id_then_email() -> None:
    customer("ann_lee_1", "Ann", "Lee", "80279", email="ann@example.com")
    customer("bob_ray_1", "Bob", "Ray", "80280", email="bob@example.com")
    turns = [("customer", "my user id is bob_ray_1, email ann@example.com")]
    assert link(turns, external_id="ann_lee_1").method == "external_id"
    assert link(turns, external_id="not-a-store-id") == Link("bob_ray_1", [], "customer_id")
    assert link([("customer", "hi")], email="BOB@example.com") == Link("bob_ray_1", [], "email")


def test_an_email_held_by_two_customers_links_nobody() -> None:
    customer("ann_lee_1", "Ann", "Lee", "80279", email="shared@example.com")
    customer("ann_lee_2", "Ann", "Lee", "80280", email="Shared@example.com")
    assert link([("customer", "shared@example.com")]).customer_id is None


def test_linking_costs_two_queries_however_much_was_said(
    django_assert_num_queries: object,
) -> None:
    ann = customer("ann_lee_1", "Ann", "Lee", "80279", email="ann@example.com")
    mentioned = [OrderFactory(order_id=f"#W{3000000 + n}", customer=ann) for n in range(20)]
    turns = [
        ("customer", f"I'm Ann Lee, zip code 80279, ann@example.com, order {order.order_id}")
        for order in mentioned
    ]
    entities = [e for i, (_r, text) in enumerate(turns) for e in extract_entities(text, turn=i)]
    with django_assert_num_queries(2):  # type: ignore[operator]
        linked = link_account(turns=turns, entities=entities)
    assert linked.order_ids == [order.order_id for order in mentioned]
    with django_assert_num_queries(0):  # type: ignore[operator]
        assert link_account(turns=[("customer", "hello")], entities=[]).customer_id is None
