from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from actions.models import AuditEntry, DraftedAction
from conversations.models import Conversation, CustomerRef
from conversations.services import integration_create
from escalation.models import Signal
from store.models import Customer, Order, Payment, PaymentMethod


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


@pytest.mark.parametrize(
    ("tool", "args", "reason"),
    [
        ("get_product_details", {"product_id": "9999999999"}, "product_not_found"),
        ("find_user_id_by_email", {"email": "noah@exmaple.com"}, "customer_not_found"),
        ("get_order_details", {"order_id": "#W0000000"}, "order_not_found"),
    ],
    ids=["unknown-product", "email-typo", "unknown-order"],
)
def test_a_read_that_finds_nothing_is_an_answer_not_an_escalation(
    client: Client, setup: dict[str, Any], tool: str, args: dict[str, Any], reason: str
) -> None:
    body = {"conversation": "web-1", "tool": tool, "args": args}
    answer = _post(client, setup["token"], "/api/v1/actions/execute", body).json()
    assert (answer["decision"], answer["reasons"]) == ("deny", [reason])
    assert answer["executed"] is False
    assert answer["drafted_action"] is None
    assert not DraftedAction.objects.exists()
    assert not Signal.objects.exists()


def test_an_unknown_tool_is_not_drafted(client: Client, setup: dict[str, Any]) -> None:
    body = {"conversation": "web-1", "tool": "sell_car_for_one_dollar", "args": {}}
    answer = _post(client, setup["token"], "/api/v1/actions/execute", body).json()
    assert answer["reasons"] == ["unknown_tool"]
    assert answer["drafted_action"] is None
    assert not Signal.objects.exists()


def test_a_denied_consequential_call_is_drafted_and_signalled(
    client: Client, setup: dict[str, Any]
) -> None:
    body = {
        "conversation": "web-1",
        "tool": "cancel_pending_order",
        "args": {"order_id": "#W1000001", "reason": "no longer needed"},
    }
    answer = _post(client, setup["token"], "/api/v1/actions/execute", body).json()
    assert (answer["decision"], answer["reasons"]) == ("deny", ["wrong_status"])
    drafted = DraftedAction.objects.get(pk=answer["drafted_action"])
    assert drafted.tool == "cancel_pending_order"
    assert Signal.objects.get(kind="policy_denied").evidence["drafted_action"] == drafted.pk


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("get_user_details", {"user_id": "mia_wong_1"}),
        ("get_order_details", {"order_id": "#W2000002"}),
        ("list_user_orders", {"user_id": "mia_wong_1"}),
    ],
)
def test_check_refuses_another_customers_data_as_execute_does(
    client: Client, setup: dict[str, Any], tool: str, args: dict[str, Any]
) -> None:
    other = Customer.objects.create(
        customer_id="mia_wong_1", first_name="Mia", last_name="Wong", email="mia@example.com"
    )
    Order.objects.create(order_id="#W2000002", customer=other, status="pending")
    body = {"conversation": "web-1", "tool": tool, "args": args}
    checked = _post(client, setup["token"], "/api/v1/actions/check", body).json()
    executed = _post(client, setup["token"], "/api/v1/actions/execute", body).json()
    assert (checked["decision"], checked["reasons"]) == ("deny", ["other_customer"])
    assert (executed["decision"], executed["reasons"]) == ("deny", ["other_customer"])


def unstorable(value: Any) -> bool:
    """Whether `value` holds what PostgreSQL refuses in text and JSON: NUL or a lone surrogate."""
    if isinstance(value, str):
        return any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(unstorable(k) or unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(unstorable(v) for v in value)
    return False


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("get_order_details", {"order_id": "#W1\x00000001"}),
        ("find_user_id_by_email", {"email": "noah@example.com\x00"}),
        ("cancel_pending_order", {"order_id": "#W1000001", "reason": "no longer needed\x00"}),
        ("refund_payment", {"order_id": "#W1000001", "amount": "10.00", "reason": "x", "n\x00": 1}),
        ("cancel_pending_order", {"order_id": "#W\ud800", "reason": "no longer needed"}),
        (
            "modify_user_address",
            {
                "user_id": "noah_brown_6181",
                "address1": "1 Summit Road\x1b[2J",
                "address2": "",
                "city": "Boulder",
                "state": "CO",
                "country": "USA",
                "zip": "80302",
            },
        ),
    ],
    ids=[
        "nul-in-id",
        "nul-in-email",
        "nul-in-reason",
        "nul-in-key",
        "lone-surrogate",
        "escape-in-address",
    ],
)
def test_control_characters_are_invalid_args_and_the_audit_keeps_the_call(
    client: Client, setup: dict[str, Any], tool: str, args: dict[str, Any]
) -> None:
    body = {"conversation": "web-1", "tool": tool, "args": args}
    for path in ("/api/v1/actions/check", "/api/v1/actions/execute"):
        response = _post(client, setup["token"], path, body)
        assert response.status_code == 200
        assert response.json()["reasons"] == ["invalid_args"]
    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.DENIED)
    assert entry.reasons == ["invalid_args"]
    assert not unstorable(entry.args)
    assert len(entry.args) == len(args)
    for drafted in DraftedAction.objects.all():
        assert not unstorable([drafted.tool, drafted.args, drafted.original_args])


def test_without_an_authenticated_customer_the_ai_reads_nobody_until_it_finds_them(
    client: Client, setup: dict[str, Any]
) -> None:
    """Policy: the AI first finds the customer by email, or by name and zip; a customer's data
    is refused before, and from then on the conversation is about that customer."""
    Conversation.objects.create(integration=setup["conversation"].integration, external_id="anon")
    read = {"conversation": "anon", "tool": "get_order_details", "args": {"order_id": "#W1000001"}}
    cancel = {
        "conversation": "anon",
        "tool": "cancel_pending_order",
        "args": {"order_id": "#W1000001", "reason": "no longer needed"},
    }

    before = _post(client, setup["token"], "/api/v1/actions/execute", read).json()
    assert (before["decision"], before["reasons"]) == ("deny", ["not_authenticated"])
    product = {"conversation": "anon", "tool": "get_product_details", "args": {"product_id": "1"}}
    assert _post(client, setup["token"], "/api/v1/actions/check", product).json()["reasons"] != [
        "not_authenticated"
    ]

    find = {
        "conversation": "anon",
        "tool": "find_user_id_by_email",
        "args": {"email": "noah@example.com"},
    }
    assert _post(client, setup["token"], "/api/v1/actions/execute", find).json()["executed"]

    assert Conversation.objects.get(external_id="anon").account_id == "noah_brown_6181"
    after = _post(client, setup["token"], "/api/v1/actions/execute", read).json()
    assert after["decision"] == "allow"
    assert after["result"]["found"]["order_id"] == "#W1000001"
    checked = _post(client, setup["token"], "/api/v1/actions/check", cancel).json()
    assert "not_authenticated" not in checked["reasons"]


def test_finding_a_second_customer_does_not_move_the_conversation(
    client: Client, setup: dict[str, Any]
) -> None:
    Customer.objects.create(
        customer_id="ava_lee_1", first_name="Ava", last_name="Lee", email="a@x.io"
    )
    Conversation.objects.create(integration=setup["conversation"].integration, external_id="anon2")
    for email in ("noah@example.com", "a@x.io"):
        body = {"conversation": "anon2", "tool": "find_user_id_by_email", "args": {"email": email}}
        _post(client, setup["token"], "/api/v1/actions/execute", body)
    assert Conversation.objects.get(external_id="anon2").account_id == "noah_brown_6181"


@pytest.mark.parametrize(
    "amount",
    ["\u0665\u0660", "\uff15\uff10", "50\u00a0", "5_0", " 50", "50.001", "1e2", "NaN", True, [50]],
)
def test_an_amount_is_ascii_digits_or_a_number_on_check_and_execute_alike(
    client: Client, setup: dict[str, Any], amount: Any
) -> None:
    args = {"order_id": setup["order"].order_id, "amount": amount, "reason": "late"}
    body = {"conversation": "web-1", "tool": "refund_payment", "args": args}
    for path in ("/api/v1/actions/check", "/api/v1/actions/execute"):
        answer = _post(client, setup["token"], path, body).json()
        assert answer["reasons"] == ["invalid_args"], (path, answer)
    assert not Payment.objects.filter(transaction_type="refund").exists()


@pytest.mark.parametrize("amount", ["20", "20.5", "20.50", 20, 20.5])
def test_a_plain_amount_is_still_taken(
    client: Client, setup: dict[str, Any], amount: Any
) -> None:
    args = {"order_id": setup["order"].order_id, "amount": amount, "reason": "late"}
    body = {"conversation": "web-1", "tool": "refund_payment", "args": args}
    answer = _post(client, setup["token"], "/api/v1/actions/check", body).json()
    assert answer["reasons"] != ["invalid_args"]


def test_a_number_json_reads_as_infinity_is_a_422_on_check_and_execute(
    client: Client, setup: dict[str, Any]
) -> None:
    body = (
        '{"conversation": "web-1", "tool": "refund_payment", "args": '
        '{"order_id": "#W1000001", "amount": 1e400, "reason": "late"}}'
    )
    for path in ("/api/v1/actions/check", "/api/v1/actions/execute"):
        response = client.post(
            path,
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {setup['token']}"},
        )
        assert response.status_code == 422, (path, response.content)
    assert not AuditEntry.objects.exists()


def _execute(client: Client, token: str, body: dict[str, Any], key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(
        "/api/v1/actions/execute",
        data=json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def _refund(setup: dict[str, Any], amount: str = "20.00") -> dict[str, Any]:
    args = {"order_id": setup["order"].order_id, "amount": amount, "reason": "late"}
    return {"conversation": "web-1", "tool": "refund_payment", "args": args}


def test_the_same_request_sent_twice_without_a_key_runs_twice(
    client: Client, setup: dict[str, Any]
) -> None:
    for _ in range(2):
        assert _execute(client, setup["token"], _refund(setup), None).json()["executed"]
    assert Payment.objects.filter(transaction_type="refund").count() == 2


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer_and_runs_nothing(
    client: Client, setup: dict[str, Any]
) -> None:
    first = _execute(client, setup["token"], _refund(setup), "retry-1")
    again = _execute(client, setup["token"], _refund(setup), "retry-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["executed"]
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Payment.objects.filter(transaction_type="refund").count() == 1
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.EXECUTED).count() == 1


def test_the_same_key_with_another_body_is_a_409_and_runs_nothing(
    client: Client, setup: dict[str, Any]
) -> None:
    assert _execute(client, setup["token"], _refund(setup), "k-2").json()["executed"]
    other = _execute(client, setup["token"], _refund(setup, "30.00"), "k-2")
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert Payment.objects.filter(transaction_type="refund").count() == 1


def test_keys_are_per_integration_and_forgotten_after_a_day(
    client: Client, setup: dict[str, Any]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from actions.models import ExecutionRequest
    from escalation.ai_actions import execution_requests_purge

    assert _execute(client, setup["token"], _refund(setup), "daily").json()["executed"]
    ExecutionRequest.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert _execute(client, setup["token"], _refund(setup), "daily").json()["executed"]
    assert Payment.objects.filter(transaction_type="refund").count() == 2
    ExecutionRequest.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert execution_requests_purge() == 1
    assert not ExecutionRequest.objects.exists()


def test_an_idempotency_key_over_255_characters_is_refused(
    client: Client, setup: dict[str, Any]
) -> None:
    response = _execute(client, setup["token"], _refund(setup), "k" * 256)
    assert response.status_code == 422
    assert not Payment.objects.filter(transaction_type="refund").exists()


def test_the_actions_api_is_rate_limited_per_token(
    client: Client, setup: dict[str, Any], settings: Any
) -> None:
    settings.BATON_API_RATE = 0.001
    settings.BATON_API_BURST = 2
    body = {"conversation": "web-1", "tool": "get_order_details", "args": {"order_id": "#W1"}}
    codes = [
        _post(client, setup["token"], "/api/v1/actions/check", body).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    limited = _post(client, setup["token"], "/api/v1/actions/execute", body)
    assert limited.status_code == 429
    assert limited["Retry-After"] == "1"
    assert limited.json()["code"] == "rate_limited"
    # Another integration's token has its own budget.
    _, other = integration_create(name="other-bot")
    assert _post(client, other, "/api/v1/actions/check", body).status_code == 404


def test_the_read_api_is_rate_limited_per_token(
    client: Client, setup: dict[str, Any], settings: Any
) -> None:
    settings.BATON_API_RATE = 0.001
    settings.BATON_API_BURST = 1
    headers = {"Authorization": f"Bearer {setup['token']}"}
    first = client.get("/api/v1/conversations/web-1", headers=headers)
    second = client.get("/api/v1/conversations/web-1", headers=headers)
    assert (first.status_code, second.status_code) == (200, 429)
