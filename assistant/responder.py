"""The deterministic responder: the assistant with no LLM configured (the embedded default).

It verifies the customer (email, or name and zip) before any account read or action, tells
an order's status and tracking, says whether an order can be returned as the policy decides,
cancels a pending order through the policy once the customer confirms, and hands everything
else to a person at once, saying so. A request for a person is a handoff, never an argument.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from actions.models import Actor
from actions.schemas import CANCEL_REASONS
from actions.selectors import conversation_account_id
from actions.services import action_check
from assistant.tools import tool_run
from assistant.turn import ToolRecord, Turn
from conversations.models import Conversation, Event

HUMAN = re.compile(
    r"\b(human|real person|a person|someone real|an? agent|representative|operator|"
    r"live (chat|support)|speak (to|with) (someone|somebody)|talk (to|with) (someone|somebody)|"
    r"supervisor|manager)\b",
    re.I,
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ZIP = re.compile(r"\b(\d{5})\b")
NAME = re.compile(
    r"(?:\b(?:name is|i am|i'm|this is)\s+|^\s*)([A-Z][a-zA-Z'-]+)\s+([A-Z][a-zA-Z'-]+)\b"
)
ORDER_ID = re.compile(r"#?\b(W\d{7})\b", re.I)
AMOUNT = re.compile(
    r"\$\s?(\d{1,7}(?:\.\d{1,2})?)|\b(\d{1,7}(?:\.\d{1,2})?)\s?(?:dollars|usd)\b", re.I
)
TRACK = re.compile(
    r"\b(where|status|track|tracking|shipped|shipping|arrive|delivery|package)\b", re.I
)
RETURN = re.compile(r"\breturn", re.I)
CANCEL = re.compile(r"\bcancel", re.I)
REFUND = re.compile(r"\b(refund|money back)\b", re.I)
YES = re.compile(r"^\W*(yes|yeah|yep|sure|please do|go ahead|confirm|ok|okay|do it)\b", re.I)
NO = re.compile(r"^\W*(no|nope|don't|do not|never mind|stop)\b", re.I)
GREETING = re.compile(
    r"^\W*(hi|hello|hey|good (morning|afternoon|evening))\b(\W+(again|there|all))?\W*$", re.I
)
THANKS = re.compile(r"\b(thanks|thank you|that's all|bye)\b", re.I)

# The confirmation and the offer the responder asks; the customer's "yes" answers them.
CONFIRM_CANCEL = "Shall I cancel order {order_id}? Reply yes to cancel it (reason: {reason})."
_CONFIRM_CANCEL = re.compile(r"Shall I cancel order (#W\d{7})\? .*\(reason: ([a-z ]+)\)\.")
OFFER_HUMAN = "Shall I connect you with a specialist?"
SCOPE = (
    "I can check an order's status and tracking, tell you whether an order can be returned, "
    "or cancel a pending order."
)
VERIFY = "To look at your account, please tell me the email on it, or your name and zip code."


def deterministic_turn(
    *, conversation: Conversation, events: list[Event], pending: list[Event]
) -> Turn:
    text = " ".join(event.text for event in pending)
    # The question the customer answers is the last thing said to them: an AI question a
    # person spoke after (or a hand-back came after) is no longer open.
    last = next(
        (
            e
            for e in reversed(events)
            if e not in pending
            and (
                e.type == Event.Type.HANDOFF
                or (e.type == Event.Type.MESSAGE and e.role in ("ai", "agent"))
            )
        ),
        None,
    )
    last_ai = (
        last.text
        if last is not None and last.type == Event.Type.MESSAGE and last.role == "ai"
        else ""
    )
    if HUMAN.search(text):
        return Turn(
            text="Of course.",
            confidence=0.95,
            intent="human_request",
            handoff_reason="customer_request",
            handoff_note="The customer asked for a person.",
        )
    tools: list[ToolRecord] = []
    account_id = conversation_account_id(conversation=conversation)
    if YES.search(text) and last_ai.endswith(OFFER_HUMAN):
        return Turn(
            text="Sure.",
            confidence=0.95,
            intent="human_request",
            handoff_reason="customer_request",
            handoff_note="The customer accepted the assistant's offer of a specialist.",
        )
    confirm = _CONFIRM_CANCEL.search(last_ai)
    if confirm and account_id:
        if YES.search(text):
            return _cancel(conversation, confirm.group(1), confirm.group(2))
        if NO.search(text):
            return Turn("All right, I won't cancel it. " + SCOPE, 0.9, "cancel_declined")
    just_verified = False
    if not account_id:
        found = _verify(conversation, text, tools)
        if found is None and tools:
            return Turn(
                "I couldn't find an account with those details. Please check the email, or "
                "give your first and last name and zip code as on your account.",
                0.7,
                "verification_failed",
                tools=tools,
            )
        account_id, just_verified = found, found is not None
    intent_text = text
    if just_verified and not _account_intent(text):
        # The customer asked before they were verified: answer that, without asking again.
        intent_text = next(
            (
                e.text
                for e in reversed(events)
                if e.type == Event.Type.MESSAGE and e.role == "customer" and _account_intent(e.text)
            ),
            "",
        )
    intent = _account_intent(intent_text)
    if intent and not account_id:
        return Turn(VERIFY, 0.9, "verification_needed", topic=intent)
    if intent:
        turn = _INTENTS[intent](conversation, intent_text, tools)
        if just_verified:
            turn.text = "Thanks, you're verified. " + turn.text
        return turn
    if just_verified:
        return Turn("Thanks, you're verified. How can I help? " + SCOPE, 0.9, "verified", tools)
    if GREETING.search(text):
        ask = "" if account_id else " " + VERIFY
        return Turn(f"Hi! I'm the shop's assistant. {SCOPE}{ask}", 0.9, "greeting")
    if THANKS.search(text):
        return Turn("You're welcome! Anything else I can help with?", 0.9, "thanks")
    return Turn(
        "That's not something I can help with, and I'd rather not guess.",
        0.2,
        "unsupported_request",
        tools,
        handoff_reason="unsupported_request",
        handoff_note="The assistant cannot help with this request: " + text[:300],
    )


def _account_intent(text: str) -> str | None:
    if REFUND.search(text):
        return "refund"
    if CANCEL.search(text):
        return "cancel"
    if RETURN.search(text):
        return "return"
    if TRACK.search(text) or ORDER_ID.search(text):
        return "order_status"
    return None


def _verify(conversation: Conversation, text: str, tools: list[ToolRecord]) -> str | None:
    """Find the customer by the email, or the name and zip, in the text: the store's policy's
    two ways to authenticate. A match binds the conversation to them (tools.tool_run)."""
    email = EMAIL.search(text)
    if email:
        record = tool_run(
            conversation=conversation, tool="find_user_id_by_email", args={"email": email.group()}
        )
        tools.append(record)
        if record.status == "ok":
            return record.result.get("user_id")
    zip_code, name = ZIP.search(text), NAME.search(text)
    if zip_code and name:
        record = tool_run(
            conversation=conversation,
            tool="find_user_id_by_name_zip",
            args={
                "first_name": name.group(1),
                "last_name": name.group(2),
                "zip": zip_code.group(1),
            },
        )
        tools.append(record)
        if record.status == "ok":
            return record.result.get("user_id")
    return None


def _orders(conversation: Conversation, tools: list[ToolRecord]) -> list[dict[str, Any]]:
    account_id = conversation_account_id(conversation=conversation) or ""
    record = tool_run(
        conversation=conversation, tool="list_user_orders", args={"user_id": account_id}
    )
    tools.append(record)
    return record.result.get("orders", []) if record.status == "ok" else []


def _order(
    conversation: Conversation, text: str, tools: list[ToolRecord], statuses: set[str] | None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The order the customer means: the one named, else their only one in `statuses`."""
    named = ORDER_ID.search(text)
    if named:
        record = tool_run(
            conversation=conversation,
            tool="get_order_details",
            args={"order_id": "#" + named.group(1).upper()},
        )
        tools.append(record)
        return (record.result.get("found") if record.status == "ok" else None), []
    orders = [
        o for o in _orders(conversation, tools) if statuses is None or o["status"] in statuses
    ]
    return (orders[0] if len(orders) == 1 else None), orders


def _which(orders: list[dict[str, Any]], what: str) -> str:
    if not orders:
        return f"I don't see any {what} on your account."
    listed = ", ".join(f"{o['order_id']} ({o['status']})" for o in orders[:5])
    return f"Which order do you mean? Your {what}: {listed}."


def _status(conversation: Conversation, text: str, tools: list[ToolRecord]) -> Turn:
    order, orders = _order(conversation, text, tools, None)
    if order is None and ORDER_ID.search(text):
        return Turn("I couldn't find that order on your account.", 0.7, "order_status", tools)
    if order is None and len(orders) > 1:
        lines = [_status_line(o) for o in orders[:3]]
        return Turn("Here are your latest orders: " + " ".join(lines), 0.85, "order_status", tools)
    if order is None:
        return Turn(_which(orders, "orders"), 0.8, "order_status", tools)
    return Turn(_status_line(order), 0.95, "order_status", tools, topic="order_status")


def _status_line(order: dict[str, Any]) -> str:
    line = f"Order {order['order_id']} is {order['status']}."
    shipments = [f for f in order.get("fulfillments", []) if f.get("tracking_ids")]
    for shipment in shipments:
        carrier = shipment.get("carrier") or "the carrier"
        line += (
            f" It shipped with {carrier}, tracking number {', '.join(shipment['tracking_ids'])}."
        )
    if not shipments and order["status"].startswith("pending"):
        line += " It hasn't shipped yet."
    return line


def _return(conversation: Conversation, text: str, tools: list[ToolRecord]) -> Turn:
    order, orders = _order(conversation, text, tools, {"delivered"})
    if order is None:
        return Turn(_which(orders, "delivered orders"), 0.8, "return_eligibility", tools)
    paid = [p for p in order.get("payments", []) if p["transaction_type"] == "payment"]
    decision = action_check(
        actor=Actor.AI,
        tool="return_delivered_order_items",
        args={
            "order_id": order["order_id"],
            "item_ids": [item["item_id"] for item in order.get("items", [])] or ["none"],
            "payment_method_id": paid[0]["payment_method_id"] if paid else "none",
        },
        account_id=conversation_account_id(conversation=conversation),
        ai_read_only=conversation.ai_read_only,
        conversation_id=conversation.pk,
    )
    if decision.outcome == "deny":
        why = (
            f"it is {order['status']}; only delivered orders can be returned"
            if "wrong_status" in decision.reasons
            else decision.message.rstrip(".").lower()
        )
        return Turn(
            f"Order {order['order_id']} can't be returned: {why}. {OFFER_HUMAN}",
            0.85,
            "return_eligibility",
            tools,
            topic="return",
        )
    return Turn(
        f"Order {order['order_id']} is delivered, so its items can be returned, with the refund "
        "to the original payment method. A specialist starts the return for you. " + OFFER_HUMAN,
        0.9,
        "return_eligibility",
        tools,
        topic="return",
    )


def _cancel_ask(conversation: Conversation, text: str, tools: list[ToolRecord]) -> Turn:
    order, orders = _order(conversation, text, tools, {"pending"})
    if order is None:
        return Turn(_which(orders, "pending orders"), 0.8, "cancel", tools, topic="cancellation")
    if order["status"] != "pending":
        return Turn(
            f"Order {order['order_id']} is {order['status']}, and only a pending order can be "
            f"cancelled. {OFFER_HUMAN}",
            0.85,
            "cancel",
            tools,
            topic="cancellation",
        )
    reason = CANCEL_REASONS[1] if re.search(r"mistake|wrong", text, re.I) else CANCEL_REASONS[0]
    return Turn(
        CONFIRM_CANCEL.format(order_id=order["order_id"], reason=reason),
        0.9,
        "cancel_confirm",
        tools,
        topic="cancellation",
    )


def _cancel(conversation: Conversation, order_id: str, reason: str) -> Turn:
    record = tool_run(
        conversation=conversation,
        tool="cancel_pending_order",
        args={"order_id": order_id, "reason": reason},
    )
    if record.status == "ok":
        refunded = record.result.get("refunded", "0")
        return Turn(
            f"Done: order {order_id} is cancelled, and ${refunded} goes back to the original "
            "payment method.",
            0.95,
            "cancel",
            [record],
            topic="cancellation",
        )
    return _refused(record, f"cancel order {order_id}")


def _refused(record: ToolRecord, what: str) -> Turn:
    """A consequential call the policy did not allow: to a person, with the call recorded, so
    the packet drafts it for them."""
    needs = record.result.get("decision") == "needs_approval"
    return Turn(
        f"I can't {what} myself."
        if needs
        else f"I can't {what}: {record.result.get('message', '')}",
        0.5,
        "needs_approval" if needs else "policy_denied",
        [record],
        handoff_reason="needs_approval" if needs else "policy_denied",
        handoff_note=f"{record.tool}: {record.result.get('message', '')}"[:2000],
    )


def _refund(conversation: Conversation, text: str, tools: list[ToolRecord]) -> Turn:
    order, orders = _order(conversation, text, tools, {"delivered", "processed"})
    amount = AMOUNT.search(text)
    if order is None:
        return Turn(_which(orders, "orders that can be refunded"), 0.8, "refund", tools)
    value = Decimal(amount.group(1) or amount.group(2)) if amount else Decimal(order["total"])
    value = value.quantize(Decimal("0.01"))
    args = {"order_id": order["order_id"], "amount": str(value), "reason": "customer request"}
    account_id = conversation_account_id(conversation=conversation)
    decision = action_check(
        actor=Actor.AI,
        tool="refund_payment",
        args=args,
        account_id=account_id,
        ai_read_only=conversation.ai_read_only,
        conversation_id=conversation.pk,
    )
    if decision.outcome == "allow":
        # The responder gives no money back at its own discretion: a person does, with the
        # policy's answer in the note.
        return Turn(
            "A specialist will look at the refund with you.",
            0.6,
            "refund",
            tools,
            topic="refund",
            handoff_reason="refund_request",
            handoff_note=f"Refund of ${value} on {order['order_id']} requested; the policy "
            "allows it for the AI.",
        )
    record = ToolRecord(
        tool="refund_payment",
        args=args,
        status="denied",
        result=decision.as_dict(),
        consequential=True,
    )
    turn = _refused(record, f"refund ${value} on order {order['order_id']}")
    turn.tools = [*tools, record]
    turn.topic = "refund"
    return turn


_INTENTS = {
    "order_status": _status,
    "return": _return,
    "cancel": _cancel_ask,
    "refund": _refund,
}
