"""Reads the actions layer needs of the record and the store."""

from __future__ import annotations

from conversations.models import Conversation
from store.models import Customer


def conversation_account_id(*, conversation: Conversation) -> str | None:
    """The store customer a conversation is about: the one bound to it, else the one its
    customer reference names (by external id, else by an email that only one customer has)."""
    if conversation.account_id:
        return conversation.account_id
    ref = conversation.customer
    if ref is None:
        return None
    if ref.external_id and Customer.objects.filter(customer_id=ref.external_id).exists():
        return ref.external_id
    if ref.email:
        matches = list(
            Customer.objects.filter(email__iexact=ref.email).values_list("customer_id", flat=True)[
                :2
            ]
        )
        if len(matches) == 1:
            return matches[0]
    return None
