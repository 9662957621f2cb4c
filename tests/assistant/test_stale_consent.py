"""A yes answers the last thing said to the customer, not an older question of the AI's."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from conversations.models import Conversation
from conversations.services import conversation_message_add, conversation_owner_set
from store.models import Order


def test_a_yes_after_a_person_spoke_does_not_cancel_on_the_ais_old_question(
    shop: Any, chat: Any
) -> None:
    c = chat("w-stale")
    c.say(shop.customer.email)
    ask = c.say(f"Please cancel {shop.pending.order_id}")
    assert "yes" in ask.lower()
    conversation = c.conversation
    with transaction.atomic():
        conversation_owner_set(
            conversation=conversation, owner=Conversation.Owner.HUMAN, by="agent"
        )
        conversation_message_add(
            conversation=conversation,
            role="agent",
            text="I've kept the order. Shall I hand you back to the assistant?",
            author="Maya",
        )
        conversation_owner_set(conversation=conversation, owner=Conversation.Owner.AI, by="agent")
    c.say("yes please")
    shop.pending.refresh_from_db()
    assert shop.pending.status == Order.Status.PENDING
