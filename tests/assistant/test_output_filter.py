"""The output filter: what it blocks, what it lets through, and how a block is recorded."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assistant import llm
from assistant.output_filter import (
    OTHER_CUSTOMER,
    PROMPT_LEAK,
    SAFE_REPLY,
    UNBACKED_PROMISE,
    turn_filter,
)
from assistant.turn import ToolRecord, Turn
from tests.factories import Store


def blocks(text: str, shop: Store, records: list[ToolRecord] | None = None) -> list[str]:
    turn = Turn(text=text, confidence=0.9, intent="answer", tools=records or [])
    return turn_filter(
        turn=turn, account_id=shop.customer.customer_id, system_prompt=llm.system_prompt()
    ).blocked


def test_the_prompt_and_its_reference_are_blocked(shop: Store) -> None:
    prompt = llm.system_prompt()
    assert PROMPT_LEAK in blocks(f"Sure! My instructions: {prompt}", shop)
    reference = prompt.rsplit(" ", 1)[-1].rstrip(".")
    assert blocks(f"The code is {reference}", shop) == [PROMPT_LEAK]
    # Seven of its words in a row are enough, in any case.
    assert blocks("ok: BEFORE YOU READ OR CHANGE ANYTHING OF AN ACCOUNT", shop) == [PROMPT_LEAK]
    assert blocks("Here is my system prompt, as you asked.", shop) == [PROMPT_LEAK]


@pytest.mark.parametrize(
    "make",
    [
        lambda s: f"Their email is {s.other_customer.email}.",
        lambda s: f"Order {s.other_order.order_id} is pending.",
        lambda s: f"That account is {s.other_customer.customer_id}.",
        lambda s: "Call them on +1 (303) 555-0199.",
    ],
)
def test_another_customers_data_is_blocked(shop: Store, make: Callable[[Store], str]) -> None:
    assert blocks(make(shop), shop) == [OTHER_CUSTOMER]


def test_the_customers_own_data_passes(shop: Store) -> None:
    text = (
        f"Order {shop.pending.order_id} is pending; we'll write to {shop.customer.email}. "
        f"Its total is ${shop.pending.total}."
    )
    assert blocks(text, shop) == []


@pytest.mark.parametrize(
    "text",
    [
        "Deal! The tent is yours for $1, and that's a legally binding offer.",
        "I've issued a full refund to your card.",
        "You'll receive a refund of $250 within 5 days.",
        "Here's a 20% off coupon for your trouble.",
        "No problem, I have refunded $5000.",
        "The Hiking Boots cost $3.99 today.",
        # Found in review: "we", "went ahead", and a refusal elsewhere in the sentence.
        "We've refunded your order to your card.",
        "Done! I went ahead and refunded you.",
        "I can't believe it, but I've issued your refund.",
        "I cannot say no to you: 50% off your next order.",
    ],
)
def test_promises_the_policy_does_not_back_are_blocked(shop: Store, text: str) -> None:
    assert UNBACKED_PROMISE in blocks(text, shop)


def test_a_refund_an_executed_action_gave_may_be_stated(shop: Store) -> None:
    cancelled = ToolRecord(
        tool="cancel_pending_order",
        args={"order_id": shop.pending.order_id, "reason": "no longer needed"},
        status="ok",
        result={"order_id": shop.pending.order_id, "refunded": "220.00"},
        consequential=True,
        executed=True,
    )
    text = "Done. I've processed the cancellation and you'll receive a refund of $220.00."
    assert blocks(text, shop, [cancelled]) == []


def test_an_amount_refused_may_be_named_in_a_refusal_only(shop: Store) -> None:
    refused = ToolRecord(
        tool="refund_payment",
        args={"order_id": shop.delivered.order_id, "amount": "150.00", "reason": "x"},
        status="denied",
        result={"decision": "needs_approval"},
        consequential=True,
    )
    assert blocks("I can't refund $150.00 myself.", shop, [refused]) == []
    assert UNBACKED_PROMISE in blocks("Your $150.00 is on the way.", shop, [refused])


def test_a_blocked_reply_is_replaced_by_a_safe_one(shop: Store) -> None:
    turn = Turn(text="Here's a 50% discount!", confidence=0.9, intent="answer")
    out = turn_filter(
        turn=turn, account_id=shop.customer.customer_id, system_prompt=llm.system_prompt()
    )
    assert out.text == SAFE_REPLY and out.confidence <= 0.3 and out.blocked == [UNBACKED_PROMISE]


@pytest.mark.parametrize(
    "text",
    [
        "I can't share that, but I can help with your orders.",
        "I'm not able to change prices. Is there anything about your order I can check?",
        "Your order hasn't shipped yet; it usually ships within 2 days.",
        "A refund goes back to the original payment method once the return arrives.",
        "I can connect you with a specialist if you'd like.",
        "I can't offer a discount, but a person from our team can look at it.",
        "I'm unable to refund that myself; a specialist will look at it.",
        "Please tell me the email on your account, or your name and zip code.",
    ],
)
def test_an_honest_reply_passes(shop: Store, text: str) -> None:
    assert blocks(text, shop) == []
