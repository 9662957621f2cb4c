"""Drafted actions: a human approves, edits or rejects; the policy decides again at execution,
and an action executes exactly once however many approvals race."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from actions.models import AuditEntry, DraftedAction
from actions.services import (
    action_draft,
    action_execute,
    drafted_action_approve,
    drafted_action_reject,
)
from escalation.cases.access import user_actor
from escalation.models import AgentProfile
from store.models import Order, Payment
from tests.factories import (
    OrderFactory,
    ProductFactory,
    Store,
    VariantFactory,
    agent_user,
    store_scenario,
)


@pytest.fixture
def store(db: None) -> Store:
    return store_scenario()


@pytest.fixture
def supervisor(db: None) -> Any:
    return agent_user(role=AgentProfile.Role.SUPERVISOR, username="sam")


def refund_draft(store: Store, *, order: Order | None = None, amount: str = "50.00") -> Any:
    return action_draft(
        tool="refund_payment",
        args={
            "order_id": (order or store.delivered).order_id,
            "amount": amount,
            "reason": "late delivery",
        },
        drafted_by="ai",
        account_id=store.customer.customer_id,
    )


def refund_rows(order: Order) -> list[Decimal]:
    return list(
        Payment.objects.filter(order=order, transaction_type=Payment.Type.REFUND).values_list(
            "amount", flat=True
        )
    )


def audit_kinds(drafted: DraftedAction) -> list[str]:
    return list(drafted.audit.values_list("kind", flat=True))


def test_a_draft_records_the_decision_an_agent_would_get(store: Store) -> None:
    drafted = refund_draft(store, amount="150.00")
    assert drafted.status == DraftedAction.Status.DRAFTED
    assert drafted.decision["decision"] == "allow"
    assert drafted.original_args == drafted.args
    assert refund_rows(store.delivered) == []
    [entry] = drafted.audit.all()
    assert (entry.kind, entry.actor, entry.customer_id) == (
        AuditEntry.Kind.DRAFTED,
        "ai",
        store.customer.customer_id,
    )


def test_an_approved_draft_executes_and_records_who_and_when(store: Store, agent: Any) -> None:
    drafted = refund_draft(store)
    approved = drafted_action_approve(drafted_id=drafted.pk, user=agent, actor=user_actor(agent), note="looks right")
    drafted.refresh_from_db()
    assert drafted.status == DraftedAction.Status.EXECUTED
    assert drafted.decided_by == agent
    assert drafted.decided_at is not None
    assert drafted.executed_at is not None
    assert drafted.decision_note == "looks right"
    assert drafted.result["refunded"] == "50.00"
    assert approved.status == DraftedAction.Status.EXECUTED
    assert refund_rows(store.delivered) == [Decimal("50.00")]

    assert sorted(audit_kinds(drafted)) == ["approved", "drafted", "executed"]
    executed = drafted.audit.get(kind=AuditEntry.Kind.EXECUTED)
    assert (executed.user, executed.actor) == (agent, "agent")
    assert executed.idempotency_key == drafted.idempotency_key
    approval = drafted.audit.get(kind=AuditEntry.Kind.APPROVED)
    assert (approval.user, approval.detail) == (agent, "looks right")


def test_edited_args_are_audited_and_executed_as_edited(store: Store, agent: Any) -> None:
    drafted = refund_draft(store, amount="80.00")
    edited = {**drafted.args, "amount": "30.00"}
    drafted_action_approve(drafted_id=drafted.pk, user=agent, actor=user_actor(agent), args=edited, note="partial")
    drafted.refresh_from_db()
    assert drafted.status == DraftedAction.Status.EXECUTED
    assert drafted.args == edited
    assert drafted.original_args["amount"] == "80.00"
    assert refund_rows(store.delivered) == [Decimal("30.00")]
    edit = drafted.audit.get(kind=AuditEntry.Kind.EDITED)
    assert (edit.user, edit.args, edit.detail) == (agent, edited, "partial")
    assert drafted.audit.get(kind=AuditEntry.Kind.EXECUTED).args == edited


def test_a_rejected_draft_never_executes(store: Store, agent: Any, supervisor: Any) -> None:
    drafted = refund_draft(store)
    rejected = drafted_action_reject(drafted_id=drafted.pk, user=agent, actor=user_actor(agent), note="not owed")
    assert rejected.status == DraftedAction.Status.REJECTED
    assert (rejected.decided_by, rejected.decision_note) == (agent, "not owed")

    after = drafted_action_approve(drafted_id=drafted.pk, user=supervisor, actor=user_actor(supervisor))
    assert after.status == DraftedAction.Status.REJECTED
    assert refund_rows(store.delivered) == []
    assert sorted(audit_kinds(drafted)) == ["drafted", "rejected"]


def test_the_policy_runs_again_at_execution(store: Store, agent: Any) -> None:
    drafted = action_draft(
        tool="modify_pending_order_payment",
        args={"order_id": store.pending.order_id, "payment_method_id": store.paypal.method_id},
        drafted_by="ai",
        account_id=store.customer.customer_id,
    )
    assert drafted.decision["decision"] == "allow"
    action_execute(
        actor="agent",
        tool="cancel_pending_order",
        args={"order_id": store.pending.order_id, "reason": "no longer needed"},
        account_id=store.customer.customer_id,
    )
    payments_before = list(store.pending.payments.values_list("pk", flat=True))

    result = drafted_action_approve(drafted_id=drafted.pk, user=agent, actor=user_actor(agent))
    assert result.refusal is not None and "wrong_status" in result.refusal.reasons
    drafted.refresh_from_db()
    # Refused as it stands, it stays a draft that says why: to be edited and tried again, or
    # rejected. It is not a dead "failed" action.
    assert drafted.status == DraftedAction.Status.DRAFTED
    assert drafted.decision["decision"] == "deny"
    assert "wrong_status" in drafted.decision["reasons"]
    assert drafted.executed_at is None
    assert list(store.pending.payments.values_list("pk", flat=True)) == payments_before
    assert not drafted.audit.filter(kind=AuditEntry.Kind.EXECUTED).exists()
    denied = drafted.audit.get(kind=AuditEntry.Kind.DENIED)
    assert (denied.user, "wrong_status" in denied.reasons) == (agent, True)
    rejected = drafted_action_reject(
        drafted_id=drafted.pk, user=agent, actor=user_actor(agent), note="order was cancelled"
    )
    assert rejected.status == DraftedAction.Status.REJECTED


def test_a_failed_execution_can_be_edited_and_run(store: Store, agent: Any) -> None:
    drafted = refund_draft(store, amount="50.00")
    DraftedAction.objects.filter(pk=drafted.pk).update(status=DraftedAction.Status.FAILED)
    edited = {**drafted.args, "amount": "20.00"}
    result = drafted_action_approve(
        drafted_id=drafted.pk, user=agent, actor=user_actor(agent), args=edited
    )
    assert result.status == DraftedAction.Status.EXECUTED
    assert refund_rows(store.delivered) == [Decimal("20.00")]


def test_invalid_arguments_name_the_field(store: Store) -> None:
    outcome = action_execute(
        actor="agent",
        tool="refund_payment",
        args={"order_id": store.delivered.order_id, "amount": 10.005, "reason": "late", "x": 1},
        account_id=store.customer.customer_id,
    )
    assert outcome.decision.reasons == ["invalid_args"]
    assert outcome.decision.message == (
        "The action's arguments are not valid: amount: at most 2 decimals; "
        "x: not an argument of this action."
    )
    text = action_execute(
        actor="agent",
        tool="refund_payment",
        args={"order_id": store.delivered.order_id, "amount": "10.005", "reason": ""},
        account_id=store.customer.customer_id,
    )
    assert "amount: a positive amount with at most 2 decimals" in text.decision.message
    assert "reason: required" in text.decision.message


def test_an_agent_cannot_approve_a_refund_over_their_limit(
    store: Store, agent: Any, supervisor: Any
) -> None:
    jacket = VariantFactory(product=ProductFactory(name="Down Jacket"), price=Decimal("800.00"))
    order = OrderFactory(customer=store.customer, items=[jacket], paid_with=store.card)
    drafted = refund_draft(store, order=order, amount="700.00")
    assert drafted.decision["decision"] == "needs_approval"
    assert drafted.decision["approver"] == "supervisor"

    drafted_action_approve(drafted_id=drafted.pk, user=agent, actor=user_actor(agent))
    drafted.refresh_from_db()
    assert drafted.status == DraftedAction.Status.DRAFTED
    assert (drafted.decision["decision"], drafted.decision["approver"]) == (
        "needs_approval",
        "supervisor",
    )
    assert drafted.decided_by is None
    assert refund_rows(order) == []

    drafted_action_approve(drafted_id=drafted.pk, user=supervisor, actor=user_actor(supervisor))
    drafted.refresh_from_db()
    assert drafted.status == DraftedAction.Status.EXECUTED
    assert drafted.decided_by == supervisor
    assert refund_rows(order) == [Decimal("700.00")]


def test_approving_twice_executes_once(store: Store, agent: Any, supervisor: Any) -> None:
    drafted = refund_draft(store)
    first = drafted_action_approve(drafted_id=drafted.pk, user=agent, actor=user_actor(agent))
    second = drafted_action_approve(drafted_id=drafted.pk, user=supervisor, actor=user_actor(supervisor))
    assert first.status == second.status == DraftedAction.Status.EXECUTED
    assert second.decided_by == agent
    assert refund_rows(store.delivered) == [Decimal("50.00")]
    assert drafted.audit.filter(kind=AuditEntry.Kind.EXECUTED).count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks and concurrent approvals need PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_execute_once() -> None:
    store = store_scenario()
    drafted = refund_draft(store)
    approvers = [agent_user(username="ana"), agent_user(username="ben")]
    barrier = threading.Barrier(len(approvers))
    statuses: list[str] = []
    errors: list[BaseException] = []

    def approve(user: Any) -> None:
        try:
            barrier.wait(timeout=10)
            statuses.append(drafted_action_approve(drafted_id=drafted.pk, user=user, actor=user_actor(user)).status)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert statuses == [DraftedAction.Status.EXECUTED] * 2
    assert (
        AuditEntry.objects.filter(drafted_action=drafted, kind=AuditEntry.Kind.EXECUTED).count()
        == 1
    )
    assert refund_rows(store.delivered) == [Decimal("50.00")]
