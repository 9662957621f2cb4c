"""The deterministic responder, through real ingest: the widget stores the customer's message,
the receiver runs the task (eager here), the engine sees the assistant's events as any
platform's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actions.models import AuditEntry, DraftedAction
from assistant.models import AssistantTurn
from assistant.services import DEFAULT_HANDOFF_MESSAGE, assistant_reply
from conversations.models import Conversation
from conversations.services import (
    conversation_message_add,
    conversation_owner_set,
    events_ingest,
    integration_create,
)
from escalation.models import Case
from store.models import Order
from tests.conftest import event
from tests.factories import FulfillmentFactory, Store


def test_verifies_by_email_before_reading_and_answers_the_earlier_question(
    shop: Store, chat: Callable[[str], Any]
) -> None:
    c = chat("w-status")
    asked = c.say("Where is my order?")
    assert "email" in asked and c.conversation.account_id == ""
    answered = c.say(f"It's {shop.customer.email}")
    assert c.conversation.account_id == shop.customer.customer_id
    # The desk sees who the customer is: the ai_signal carried the store's id once.
    assert c.conversation.customer.external_id == shop.customer.customer_id
    assert "verified" in answered
    assert shop.pending.order_id in answered and shop.delivered.order_id in answered
    signals = c.events("ai_signal")
    assert len(signals) == 2 and all(0 <= s.payload["confidence"] <= 1 for s in signals)
    tools = [e.payload["tool"] for e in c.events("tool_call")]
    assert tools[0] == "find_user_id_by_email" and "list_user_orders" in tools


def test_verifies_by_name_and_zip_and_gives_tracking(shop: Store, chat: Callable) -> None:
    FulfillmentFactory(order=shop.delivered, tracking_ids=["1Z999AA10123456784"])
    c = chat("w-track")
    first, last, zip_code = shop.customer.first_name, shop.customer.last_name, shop.customer.zip
    c.say(f"My name is {first} {last}, zip {zip_code}")
    assert c.conversation.account_id == shop.customer.customer_id
    reply = c.say(f"Can you track order {shop.delivered.order_id}?")
    assert "1Z999AA10123456784" in reply and "UPS" in reply and "delivered" in reply


def test_a_wrong_email_verifies_nobody(shop: Store, chat: Callable) -> None:
    c = chat("w-wrong")
    reply = c.say("nobody@nowhere.example, where is my order?")
    assert "couldn't find" in reply and c.conversation.account_id == ""


def test_another_customers_order_is_not_read(shop: Store, chat: Callable) -> None:
    c = chat("w-other")
    c.say(shop.customer.email)
    reply = c.say(f"Status of {shop.other_order.order_id}?")
    assert "couldn't find" in reply
    assert shop.other_customer.email not in reply


def test_cancels_a_pending_order_through_the_policy_after_a_yes(
    shop: Store, chat: Callable
) -> None:
    c = chat("w-cancel")
    c.say(shop.customer.email)
    ask = c.say(f"Please cancel {shop.pending.order_id}, I ordered it by mistake")
    assert ask.startswith("Shall I cancel order") and "ordered by mistake" in ask
    shop.pending.refresh_from_db()
    assert shop.pending.status == Order.Status.PENDING
    done = c.say("yes")
    shop.pending.refresh_from_db()
    assert shop.pending.status == Order.Status.CANCELLED
    assert f"${shop.pending.total}" in done
    executed = AuditEntry.objects.get(kind=AuditEntry.Kind.EXECUTED)
    assert (executed.actor, executed.tool) == ("ai", "cancel_pending_order")
    assert c.events("tool_call")[-1].payload["status"] == "ok"


def test_a_delivered_order_cannot_be_cancelled(shop: Store, chat: Callable) -> None:
    c = chat("w-cancel-delivered")
    c.say(shop.customer.email)
    reply = c.say(f"cancel {shop.delivered.order_id}")
    assert "only a pending order can be cancelled" in reply
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.EXECUTED).exists()


def test_return_eligibility_comes_from_the_policy(shop: Store, chat: Callable) -> None:
    c = chat("w-return")
    c.say(shop.customer.email)
    assert "can be returned" in c.say(f"Can I return {shop.delivered.order_id}?")
    assert "can't be returned" in c.say(f"And return {shop.pending.order_id}?")
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.EXECUTED).exists()


def test_asking_for_a_person_hands_off_at_once_and_the_engine_opens_a_case(
    shop: Store, chat: Callable
) -> None:
    c = chat("w-human")
    reply = c.say("I want to talk to a human")
    assert DEFAULT_HANDOFF_MESSAGE in reply
    (handoff,) = c.events("handoff")
    assert handoff.payload["reason"] == "customer_request"
    assert c.conversation.owner == Conversation.Owner.HUMAN
    case = Case.objects.get(conversation=c.conversation)
    assert case.reason == "customer_request"
    # A person owns it now: the assistant stays silent.
    before = len(c.events("message"))
    c.say("hello? where is my order")
    assert len(c.events("message")) == before + 1


def test_a_refund_over_the_ai_limit_hands_off_with_the_drafted_action(
    shop: Store, chat: Callable
) -> None:
    c = chat("w-refund")
    c.say(f"I want a refund of $150 for {shop.delivered.order_id}")
    reply = c.say(shop.customer.email)
    assert "can't refund $150.00" in reply and DEFAULT_HANDOFF_MESSAGE in reply
    call = c.events("tool_call")[-1].payload
    assert (call["tool"], call["status"], call["result"]["decision"]) == (
        "refund_payment",
        "denied",
        "needs_approval",
    )
    case = Case.objects.get(conversation=c.conversation)
    assert case.reason == "needs_approval"
    drafted = DraftedAction.objects.get(conversation=c.conversation)
    assert (drafted.tool, drafted.args["amount"], drafted.case_id) == (
        "refund_payment",
        "150.00",
        case.pk,
    )
    assert drafted.customer_id == shop.customer.customer_id
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.EXECUTED).exists()


def test_anything_else_is_offered_to_a_person_at_once(shop: Store, chat: Callable) -> None:
    c = chat("w-else")
    reply = c.say("Do you sell gift wrapping for weddings?")
    assert "rather not guess" in reply and DEFAULT_HANDOFF_MESSAGE in reply
    assert c.events("handoff")[0].payload["reason"] == "unsupported_request"
    assert c.events("ai_signal")[0].payload["confidence"] < 0.4


def test_a_greeting_is_answered_without_a_handoff(shop: Store, chat: Callable) -> None:
    c = chat("w-hi")
    assert "email" in c.say("Hi!")
    assert not c.events("handoff")


def test_running_the_task_twice_answers_once(shop: Store, chat: Callable) -> None:
    c = chat("w-twice")
    c.say("hello")
    before = len(c.events())
    assert assistant_reply(conversation_id=c.conversation.pk) == []
    assert len(c.events()) == before
    assert AssistantTurn.objects.get(conversation=c.conversation).backend == "deterministic"


def test_a_message_another_run_has_claimed_is_left_to_it(shop: Store, chat: Callable) -> None:
    c = chat("w-claimed")
    c.say("hello")
    customer = c.events("message")[0]
    c.events("message")[1].delete()  # as if the first run had not written its reply yet
    AssistantTurn.objects.filter(conversation=c.conversation).update(finished_at=None)
    assert assistant_reply(conversation_id=c.conversation.pk) == []
    assert AssistantTurn.objects.get().answered_id == customer.pk


def test_another_integrations_conversation_is_not_answered(shop: Store) -> None:
    bot, _ = integration_create(name="acme-bot")
    events_ingest(integration=bot, raw_events=[event("e1", "x-1", 1, text="hello")])
    conversation = Conversation.objects.get(integration=bot)
    assert list(conversation.events.values_list("role", flat=True)) == ["customer"]


def test_after_a_hand_back_the_assistant_answers_again(shop: Store, chat: Callable) -> None:
    c = chat("w-back")
    c.say("Can I speak to a person?")
    c.say("still there?")
    assert c.last_ai().endswith(DEFAULT_HANDOFF_MESSAGE)
    conversation = c.conversation
    conversation_message_add(conversation=conversation, role="agent", text="Sorted!", author="Maya")
    conversation_owner_set(conversation=conversation, owner=Conversation.Owner.AI, by="agent")
    assert "email" in c.say("Hi again")
