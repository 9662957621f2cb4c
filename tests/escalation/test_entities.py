from __future__ import annotations

from collections.abc import Iterator

import pytest

from escalation.entities import Entity, extract_entities, product_names
from tests.factories import ProductFactory


@pytest.fixture(autouse=True)
def catalogue(db: None) -> Iterator[None]:
    for name in ("Mechanical Keyboard", "Keyboard Cover", "T-Shirt", "Smart Watch", "E-Reader"):
        ProductFactory(name=name)
    product_names.cache_clear()
    yield
    product_names.cache_clear()


def found(text: str, entity_type: str) -> list[str]:
    return [e.value for e in extract_entities(text, turn=0) if e.type == entity_type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I received my order #W2378156 yesterday", ["#W2378156"]),
        ("it's W2378156", ["#W2378156"]),
        ("order 2378156 never came", ["#W2378156"]),
        ("Order number: 2378156", ["#W2378156"]),
        ("orders #W1111111 and #W2222222", ["#W1111111", "#W2222222"]),
        ("my orders 1111111, 2222222 and 3333333", ["#W1111111", "#W2222222", "#W3333333"]),
        ("order number is 112-7654321-1234567", ["112-7654321-1234567"]),
        ("order no. 112-7654321-1234567", ["112-7654321-1234567"]),
        ("order=2378156", ["#W2378156"]),
        ("purchase #98765432101", ["98765432101"]),
        ("I ordered 3 shirts for order 2 of 3", []),
        ("call me at 2378156", []),
    ],
)
def test_order_ids(text: str, expected: list[str]) -> None:
    assert found(text, "order_id") == expected


def test_spans_are_offsets_into_the_text_and_carry_the_turn() -> None:
    text = "Hi, order W2378156 please, email Ann.Lee@Example.com."
    entities = extract_entities(text, turn=4)
    assert [(e.type, text[e.start : e.end]) for e in entities] == [
        ("order_id", "W2378156"),
        ("email", "Ann.Lee@Example.com"),
    ]
    assert entities[1] == Entity("email", "ann.lee@example.com", 33, 52, 4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sure, it's isabella.lopez3271@example.com.", ["isabella.lopez3271@example.com"]),
        ("mail me: a+b@mail.co.uk, or c_d@x.io", ["a+b@mail.co.uk", "c_d@x.io"]),
        ("not an email: foo@bar", []),
    ],
)
def test_emails(text: str, expected: list[str]) -> None:
    assert found(text, "email") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me on (555) 123-4567", ["+15551234567"]),
        ("my phone is 555-123-4567", ["+15551234567"]),
        ("+44 20 7946 0958 is my mobile", ["+442079460958"]),
        ("my cell 5551234567", ["+15551234567"]),
        ("I paid 5551234567 times", []),
    ],
)
def test_phones(text: str, expected: list[str]) -> None:
    assert found(text, "phone") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I was charged $12 twice", ["12.00"]),
        ("a refund of $1,234.5", ["1234.50"]),
        ("it cost 12.50 USD", ["12.50"]),
        ("€30 and 45 dollars", ["30.00", "45.00"]),
        ("USD 99.99", ["99.99"]),
        ("I want 2 shirts", []),
    ],
)
def test_amounts(text: str, expected: list[str]) -> None:
    assert found(text, "amount") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ordered on 2025-03-14", ["2025-03-14"]),
        ("delivered 3/14/2025", ["2025-03-14"]),
        ("since March 3rd", ["--03-03"]),
        ("on the 3rd of March, 2024", ["2024-03-03"]),
        ("it arrived yesterday", ["yesterday"]),
        ("I ordered last week", ["last week"]),
        ("you may 3 times ask", []),
        ("2025-02-30 is no date", []),
    ],
)
def test_dates(text: str, expected: list[str]) -> None:
    assert found(text, "date") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("UPS says 1Z999AA10123456784", ["1Z999AA10123456784"]),
        ("the tracking number is 357962501027", ["357962501027"]),
        ("FedEx shows 123456789012345 stuck", ["123456789012345"]),
        ("my account 357962501027", []),
    ],
)
def test_tracking_numbers(text: str, expected: list[str]) -> None:
    assert found(text, "tracking_number") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the mechanical keyboard", ["Mechanical Keyboard"]),
        ("two tshirts and a t shirt", ["T-Shirt", "T-Shirt"]),
        ("my SMARTWATCH broke", ["Smart Watch"]),
        ("the ereader", ["E-Reader"]),
        ("a keyboard cover", ["Keyboard Cover"]),
        ("smart watchband", []),
    ],
)
def test_products(text: str, expected: list[str]) -> None:
    assert found(text, "product") == expected


def test_longest_product_name_wins() -> None:
    ProductFactory(name="Mechanical Keyboard Cover")
    product_names.cache_clear()
    assert found("a mechanical keyboard cover", "product") == ["Mechanical Keyboard Cover"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am Yusuf Rossi in zip code 19122.", ["19122"]),
        ("zipcode: 28236-1234", ["28236"]),
        ("98193 is my zip", ["98193"]),
        ("100 Main St, Denver, CO 80279", ["80279"]),
        ("I live in Denver, 80280.", ["80280"]),
        ("my zip code used to be 32169", ["32169"]),
        ("I paid 19122 points", []),
    ],
)
def test_zips(text: str, expected: list[str]) -> None:
    assert found(text, "zip") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my name is yusuf rossi and my zip is 19122", ["Yusuf Rossi"]),
        ("Sure, I'm Sofia Hernandez, and my zip code is 98193.", ["Sofia Hernandez"]),
        ("I am Yusuf Rossi in zip code 19122.", ["Yusuf Rossi"]),
        ("Hello, this is Mary Ann Lee.", ["Mary Ann Lee"]),
        ("Name: Omar Khan", ["Omar Khan"]),
        ("My name's Fatima Taylor", ["Fatima Taylor"]),
        ("first name is Noah, last name Ito", ["Noah", "Ito"]),
        ("an interesting guy called Noah Patel", ["Noah Patel"]),
        ("This is Omar Khan's order", ["Omar Khan"]),
        ("I'm so tired of this", []),
        ("I am Very Angry", []),
        ("this is RIDICULOUS NOW", []),
        ("I'm Sofia", []),
    ],
)
def test_person_names(text: str, expected: list[str]) -> None:
    assert found(text, "person_name") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my user id is yusuf_rossi_9620", ["yusuf_rossi_9620"]),
        ("I am mei_kovacs_8020 living in zipcode 28236.", ["mei_kovacs_8020"]),
    ],
)
def test_customer_ids(text: str, expected: list[str]) -> None:
    assert found(text, "customer_id") == expected


def test_an_email_is_not_also_a_phone_zip_or_name() -> None:
    entities = extract_entities("reach me at 5551234567@txt.example.com", turn=0)
    assert [e.type for e in entities] == ["email"]


def test_extraction_is_deterministic() -> None:
    text = "I'm Ann Lee, order #W1234567 ($12.50) on 2025-03-14, tshirt, zip 80279"
    assert extract_entities(text, turn=1) == extract_entities(text, turn=1)
    assert [e.type for e in extract_entities(text, turn=1)] == [
        "person_name",
        "order_id",
        "amount",
        "date",
        "product",
        "zip",
    ]
