"""A draft is bound to the conversation's customer: approving it acts for them and no other."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actions.models import AuditEntry, DraftedAction
from actions.services import action_draft, drafted_action_approve
from conversations.models import Conversation, CustomerRef
from conversations.services import integration_create
from store.models import Order, Payment
from tests.factories import agent_user, store_scenario

pytestmark = pytest.mark.django_db


def _conversation(customer_external_id: str = "") -> Conversation:
    integration, _ = integration_create(name="acme-bot")
    ref = (
        CustomerRef.objects.create(integration=integration, external_id=customer_external_id)
        if customer_external_id
        else None
    )
    return Conversation.objects.create(integration=integration, external_id="web-9", customer=ref)


def _refund_args(order: Order, amount: str = "20.00") -> dict[str, str]:
    return {"order_id": order.order_id, "amount": amount, "reason": "late"}


def _draft(conversation: Conversation, order: Order) -> DraftedAction:
    """What the AI's refused refund leaves: a draft, made with no customer given."""
    return action_draft(
        tool="refund_payment",
        args=_refund_args(order),
        drafted_by="ai",
        account_id="",
        conversation=conversation,
    )


def _refunds(order: Order) -> list[Decimal]:
    return list(
        Payment.objects.filter(order=order, transaction_type="refund").values_list(
            "amount", flat=True
        )
    )


def test_a_draft_takes_the_conversations_customer_when_it_is_made() -> None:
    store = store_scenario()
    conversation = _conversation(store.customer.customer_id)
    drafted = _draft(conversation, store.delivered)
    assert drafted.customer_id == store.customer.customer_id


def test_an_edit_to_another_customers_order_is_refused_and_the_draft_stands() -> None:
    store = store_scenario()
    conversation = _conversation(store.customer.customer_id)
    drafted = _draft(conversation, store.delivered)
    agent = agent_user(username="maya")

    result = drafted_action_approve(
        drafted_id=drafted.pk,
        user=agent,
        actor="agent",
        args=_refund_args(store.other_order),
    )

    assert result.refusal is not None and "other_customer" in result.refusal.reasons
    drafted.refresh_from_db()
    assert drafted.status == DraftedAction.Status.DRAFTED
    assert _refunds(store.other_order) == []


def test_a_draft_made_before_anyone_was_verified_cannot_act_for_whoever_the_order_names() -> None:
    store = store_scenario()
    conversation = _conversation()  # nobody verified yet
    drafted = _draft(conversation, store.other_order)
    assert drafted.customer_id == ""
    agent = agent_user(username="maya")

    result = drafted_action_approve(drafted_id=drafted.pk, user=agent, actor="agent")

    assert result.refusal is not None and result.refusal.reasons == ["no_customer"]
    assert _refunds(store.other_order) == []
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.DENIED, reasons=["no_customer"]).exists()


def test_once_the_customer_is_verified_the_early_draft_acts_for_them_only() -> None:
    store = store_scenario()
    conversation = _conversation()
    drafted = _draft(conversation, store.delivered)
    Conversation.objects.filter(pk=conversation.pk).update(account_id=store.customer.customer_id)
    agent = agent_user(username="maya")

    refused = drafted_action_approve(
        drafted_id=drafted.pk, user=agent, actor="agent", args=_refund_args(store.other_order)
    )
    assert refused.refusal is not None and "other_customer" in refused.refusal.reasons

    done = drafted_action_approve(drafted_id=drafted.pk, user=agent, actor="agent")
    assert done.status == DraftedAction.Status.EXECUTED
    assert _refunds(store.delivered) == [Decimal("20.00")]
    assert _refunds(store.other_order) == []
