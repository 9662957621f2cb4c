from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from conversations.models import Conversation, CustomerRef
from conversations.services import integration_create
from desk.actions.models import DraftedAction
from desk.store.models import Customer, Order, Payment, PaymentMethod
from escalation.models import Signal


@pytest.fixture
def setup(db: None) -> dict[str, Any]:
    integration, token = integration_create(name="acme-bot")
    customer = Customer.objects.create(
        customer_id="noah_brown_6181",
        first_name="Noah",
        last_name="Brown",
        email="noah@example.com",
    )
    card = PaymentMethod.objects.create(
        method_id="credit_card_1", customer=customer, source="credit_card", last_four="4242"
    )
    order = Order.objects.create(
        order_id="#W1000001", customer=customer, status="delivered", total=Decimal("240.00")
    )
    Payment.objects.create(
        order=order,
        transaction_type="payment",
        amount=Decimal("240.00"),
        payment_method_id=card.method_id,
    )
    ref = CustomerRef.objects.create(integration=integration, external_id="noah_brown_6181")
    conversation = Conversation.objects.create(
        integration=integration, external_id="web-1", customer=ref
    )
    return {"token": token, "order": order, "conversation": conversation}


def _post(client: Client, token: str, path: str, body: dict[str, Any]) -> Any:
    return client.post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_check_answers_the_ai_policy_without_running_anything(
    client: Client, setup: dict[str, Any]
) -> None:
    body = {
        "conversation": "web-1",
        "tool": "refund_payment",
        "args": {"order_id": "#W1000001", "amount": "40.00", "reason": "late"},
    }
    response = _post(client, setup["token"], "/api/v1/actions/check", body)
    assert response.status_code == 200
    assert response.json()["decision"] == "allow"
    assert not Payment.objects.filter(transaction_type="refund").exists()


def test_execute_runs_an_allowed_call(client: Client, setup: dict[str, Any]) -> None:
    body = {
        "conversation": "web-1",
        "tool": "refund_payment",
        "args": {"order_id": "#W1000001", "amount": "40.00", "reason": "late"},
    }
    answer = _post(client, setup["token"], "/api/v1/actions/execute", body).json()
    assert answer["executed"] is True
    assert answer["drafted_action"] is None
    refund = Payment.objects.get(transaction_type="refund")
    assert refund.amount == Decimal("40.00")


def test_execute_over_the_ai_limit_drafts_for_a_human_and_signals(
    client: Client, setup: dict[str, Any]
) -> None:
    body = {
        "conversation": "web-1",
        "tool": "refund_payment",
        "args": {"order_id": "#W1000001", "amount": "200.00", "reason": "broken"},
    }
    answer = _post(client, setup["token"], "/api/v1/actions/execute", body).json()
    assert answer["executed"] is False
    assert answer["decision"] == "needs_approval"
    assert answer["approver"] == "agent"
    assert answer["reasons"] == ["over_authority_limit"]
    drafted = DraftedAction.objects.get(pk=answer["drafted_action"])
    assert drafted.status == "drafted"
    assert drafted.customer_id == "noah_brown_6181"
    signal = Signal.objects.get(kind="policy_denied")
    assert signal.evidence["drafted_action"] == drafted.pk
    assert not Payment.objects.filter(transaction_type="refund").exists()


def test_the_ai_cannot_act_before_the_customer_is_known(
    client: Client, setup: dict[str, Any]
) -> None:
    Conversation.objects.filter(pk=setup["conversation"].pk).update(customer=None)
    body = {
        "conversation": "web-1",
        "tool": "refund_payment",
        "args": {"order_id": "#W1000001", "amount": "10.00", "reason": "late"},
    }
    answer = _post(client, setup["token"], "/api/v1/actions/check", body).json()
    assert answer["decision"] == "deny"
    assert answer["reasons"] == ["not_authenticated"]


def test_a_flagged_conversation_leaves_the_ai_read_only(
    client: Client, setup: dict[str, Any]
) -> None:
    Conversation.objects.filter(pk=setup["conversation"].pk).update(ai_read_only=True)
    write = {
        "conversation": "web-1",
        "tool": "refund_payment",
        "args": {"order_id": "#W1000001", "amount": "10.00", "reason": "late"},
    }
    read = {"conversation": "web-1", "tool": "get_order_details", "args": {"order_id": "#W1000001"}}
    assert _post(client, setup["token"], "/api/v1/actions/check", write).json()["reasons"] == [
        "ai_read_only"
    ]
    assert _post(client, setup["token"], "/api/v1/actions/check", read).json()["decision"] == (
        "allow"
    )


def test_another_integrations_conversation_is_not_found(
    client: Client, setup: dict[str, Any]
) -> None:
    _, other = integration_create(name="other-bot")
    body = {"conversation": "web-1", "tool": "get_order_details", "args": {"order_id": "#W1"}}
    assert _post(client, other, "/api/v1/actions/check", body).status_code == 404


def test_an_unknown_tool_is_denied_not_an_error(client: Client, setup: dict[str, Any]) -> None:
    body = {"conversation": "web-1", "tool": "sell_car_for_one_dollar", "args": {}}
    answer = _post(client, setup["token"], "/api/v1/actions/check", body).json()
    assert answer == {
        "decision": "deny",
        "reasons": ["unknown_tool"],
        "message": "There is no such action.",
        "approver": None,
        "refund_amount": None,
    }


def test_a_read_tool_returns_the_record(client: Client, setup: dict[str, Any]) -> None:
    body = {"conversation": "web-1", "tool": "get_order_details", "args": {"order_id": "#W1000001"}}
    answer = _post(client, setup["token"], "/api/v1/actions/execute", body).json()
    assert answer["decision"] == "allow"
    assert answer["executed"] is True
    assert answer["result"]["found"]["order_id"] == "#W1000001"
    assert answer["result"]["found"]["status"] == "delivered"


def test_a_read_of_another_customers_order_is_refused(
    client: Client, setup: dict[str, Any]
) -> None:
    other = Customer.objects.create(
        customer_id="mia_wong_1", first_name="Mia", last_name="Wong", email="mia@example.com"
    )
    Order.objects.create(order_id="#W2000002", customer=other, status="pending")
    body = {"conversation": "web-1", "tool": "get_order_details", "args": {"order_id": "#W2000002"}}
    answer = _post(client, setup["token"], "/api/v1/actions/execute", body).json()
    assert answer["decision"] == "deny"
    assert answer["reasons"] == ["other_customer"]
    assert answer["result"] == {}


def test_finding_a_customer_by_email_returns_only_the_id(
    client: Client, setup: dict[str, Any]
) -> None:
    body = {
        "conversation": "web-1",
        "tool": "find_user_id_by_email",
        "args": {"email": "noah@example.com"},
    }
    answer = _post(client, setup["token"], "/api/v1/actions/execute", body).json()
    assert answer["result"] == {"user_id": "noah_brown_6181"}
