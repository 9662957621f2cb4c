"""The actions API for AI platforms (integration token): preflight and run tool calls."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from conversations.api import IntegrationToken
from conversations.selectors import conversation_get_for_integration
from desk.actions.models import Actor
from desk.actions.services import action_check, action_draft, action_execute
from desk.selectors import conversation_account_id
from escalation.services import signal_record

router = Router(auth=IntegrationToken(), tags=["actions"])


class ActionIn(Schema):
    conversation: str
    tool: str
    args: dict[str, Any] = {}


class DecisionOut(Schema):
    decision: str
    reasons: list[str]
    message: str
    approver: str | None
    refund_amount: str | None


class ExecuteOut(DecisionOut):
    executed: bool
    result: dict[str, Any]
    drafted_action: int | None


def _conversation(request: HttpRequest, external_id: str) -> Any:
    conversation = conversation_get_for_integration(
        integration=request.auth, external_id=external_id
    )
    if conversation is None:
        raise HttpError(404, f"No conversation {external_id!r} for this integration.")
    return conversation


@router.post("/actions/check", response=DecisionOut, summary="Preflight an AI tool call")
def check(request: HttpRequest, body: ActionIn) -> dict[str, Any]:
    """What the policy would decide for the AI now. It decides again when the action runs."""
    conversation = _conversation(request, body.conversation)
    decision = action_check(
        actor=Actor.AI,
        tool=body.tool,
        args=body.args,
        account_id=conversation_account_id(conversation=conversation),
        ai_read_only=conversation.ai_read_only,
    )
    return decision.as_dict()


@router.post("/actions/execute", response=ExecuteOut, summary="Run an AI tool call")
def execute(request: HttpRequest, body: ActionIn) -> dict[str, Any]:
    """Run the AI's call through the policy. A call that is not allowed is not run: it becomes a
    drafted action for a human, and a policy_denied signal for the escalation engine."""
    conversation = _conversation(request, body.conversation)
    with transaction.atomic():
        account_id = conversation_account_id(conversation=conversation)
        outcome = action_execute(
            actor=Actor.AI,
            tool=body.tool,
            args=body.args,
            account_id=account_id,
            ai_read_only=conversation.ai_read_only,
            conversation=conversation,
        )
        drafted = None
        if outcome.decision.outcome != "allow":
            drafted = action_draft(
                tool=body.tool,
                args=body.args,
                drafted_by=Actor.AI,
                account_id=account_id or "",
                conversation=conversation,
            )
            signal_record(
                conversation=conversation,
                kind="policy_denied",
                evidence={
                    "tool": body.tool,
                    "decision": outcome.decision.outcome,
                    "reasons": outcome.decision.reasons,
                    "drafted_action": drafted.pk,
                },
            )
    return {**outcome.as_dict(), "drafted_action": drafted.pk if drafted else None}
