"""The actions API for AI platforms (integration token): preflight and run tool calls."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import field_validator

from conversations.api import IntegrationToken, api_rate_limit
from conversations.schemas import NOT_FINITE, has_non_finite
from conversations.selectors import conversation_get_for_integration
from escalation.ai_actions import (
    IdempotencyConflict,
    ai_tool_call_check,
    ai_tool_call_execute,
    ai_tool_call_execute_once,
    execute_answer,
)

router = Router(auth=IntegrationToken(), tags=["actions"])


class ActionIn(Schema):
    conversation: str
    tool: str
    args: dict[str, Any] = {}

    @field_validator("args")
    @classmethod
    def _finite_numbers(cls, args: dict[str, Any]) -> dict[str, Any]:
        # 1e400 is read as infinity: no JSON value, and nothing could store it (422). Other
        # unstorable values (a NUL, a lone surrogate) are the policy's invalid_args, audited.
        if has_non_finite(args):
            raise ValueError(f"args cannot be accepted: {NOT_FINITE}")
        return args


class DecisionOut(Schema):
    decision: str
    reasons: list[str]
    message: str
    approver: str | None
    refund_amount: str | None


class ErrorOut(Schema):
    code: str
    detail: str


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
def check(request: HttpRequest, body: ActionIn) -> Any:
    """What the policy would decide for the AI now. It decides again when the action runs."""
    api_rate_limit(request, scope="actions")
    conversation = _conversation(request, body.conversation)
    decision = ai_tool_call_check(conversation=conversation, tool=body.tool, args=body.args)
    return decision.as_dict()


MAX_IDEMPOTENCY_KEY = 255


@router.post(
    "/actions/execute",
    response={200: ExecuteOut, 409: ErrorOut, 422: ErrorOut},
    summary="Run an AI tool call",
)
def execute(request: HttpRequest, body: ActionIn, response: HttpResponse) -> Any:
    """Run the AI's call through the policy. A consequential call that is not allowed is not run:
    it becomes a drafted action for a human, and a policy_denied signal for the escalation
    engine. A read that finds nothing, or a call the catalog does not know, is only answered.

    With an Idempotency-Key header, a retry of the same request gets the first answer (with
    Idempotent-Replayed: true) and runs nothing; the same key with another request is a 409.
    """
    api_rate_limit(request, scope="actions")
    conversation = _conversation(request, body.conversation)
    key = request.headers.get("Idempotency-Key")
    if key is None:
        outcome, drafted = ai_tool_call_execute(
            conversation=conversation, tool=body.tool, args=body.args
        )
        return execute_answer(outcome, drafted)
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        return Status(
            422,
            {
                "code": "invalid_idempotency_key",
                "detail": f"An Idempotency-Key is 1 to {MAX_IDEMPOTENCY_KEY} characters.",
            },
        )
    try:
        answer, replayed = ai_tool_call_execute_once(
            conversation=conversation, tool=body.tool, args=body.args, key=key
        )
    except IdempotencyConflict as exc:
        return Status(409, {"code": "idempotency_key_reused", "detail": str(exc)})
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return answer
