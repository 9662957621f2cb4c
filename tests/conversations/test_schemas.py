from __future__ import annotations

import pytest

from conversations.schemas import (
    CloseEvent,
    HandoffEvent,
    MessageEvent,
    ParseFailure,
    ToolCallEvent,
    event_parse,
)
from tests.conftest import event


def test_a_customer_message_parses() -> None:
    parsed = event_parse(event("e1", "c1", 1))
    assert isinstance(parsed, MessageEvent)
    assert parsed.role == "customer"
    assert parsed.at.tzinfo is not None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {
                "type": "tool_call",
                "tool": "refund_payment",
                "args": {"amount": 5},
                "status": "denied",
            },
            ToolCallEvent,
        ),
        ({"type": "handoff", "reason": "customer_request", "note": "wants a person"}, HandoffEvent),
        ({"type": "close", "outcome": "resolved"}, CloseEvent),
    ],
)
def test_each_type_parses_to_its_model(fields: dict, expected: type) -> None:
    raw = event("e1", "c1", 1, **fields)
    for key in ("role", "text"):
        if fields["type"] != "message":
            raw.pop(key)
    assert isinstance(event_parse(raw), expected)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    parsed = event_parse(event("e1", "c1", 1, shiny_new_field=True))
    assert not hasattr(parsed, "shiny_new_field")


def _failure(raw: object) -> ParseFailure:
    with pytest.raises(ParseFailure) as caught:
        event_parse(raw)
    return caught.value


def test_unknown_type_is_its_own_code_and_keeps_the_id() -> None:
    failure = _failure(event("e9", "c1", 1, type="poke"))
    assert failure.error.code == "unknown_type"
    assert failure.error.id == "e9"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seq": 0}, "seq"),
        ({"seq": "three"}, "seq"),
        ({"at": "yesterday"}, "at"),
        ({"at": "2026-11-27T10:00:00"}, "at"),  # RFC 3339 needs an offset
        ({"at": 1795000000}, "at"),
        ({"at": "2026-11-27 10:00:00Z"}, "at"),
        ({"seq": "3"}, "seq"),
        ({"seq": True}, "seq"),
        ({"role": "agent"}, "role"),
        ({"text": ""}, "text"),
        ({"conversation": ""}, "conversation"),
        ({"conversation": "x" * 129}, "conversation"),
    ],
)
def test_invalid_fields_are_named_in_the_error(change: dict, field: str) -> None:
    raw = event("e1", "c1", 1)
    raw.update(change)
    failure = _failure(raw)
    assert failure.error.code == "invalid_event"
    assert field in failure.error.detail
    assert failure.error.id == "e1"


def test_a_missing_id_gives_an_error_without_an_id() -> None:
    raw = event("e1", "c1", 1)
    del raw["id"]
    failure = _failure(raw)
    assert failure.error.code == "invalid_event"
    assert failure.error.id is None


def test_confidence_is_between_zero_and_one() -> None:
    raw = event("e1", "c1", 1, type="ai_signal", confidence=1.5)
    assert _failure(raw).error.code == "invalid_event"


def test_text_over_the_limit_is_too_large() -> None:
    failure = _failure(event("e1", "c1", 1, text="x" * 16_001))
    assert failure.error.code == "too_large"
    assert event_parse(event("e1", "c1", 1, text="x" * 16_000)).text


def test_a_non_object_is_an_invalid_event() -> None:
    assert _failure(["not", "an", "event"]).error.code == "invalid_event"


def test_a_text_field_on_another_type_is_an_ignored_unknown_field() -> None:
    raw = event("e1", "c1", 1, type="ai_signal", confidence=0.3, text="x" * 20_000)
    del raw["role"]
    assert event_parse(raw).confidence == 0.3
