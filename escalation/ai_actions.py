"""The AI's tool calls, under the same policy as a person's. A consequential call the policy
does not allow is not run: it becomes a drafted action for a human, and a policy_denied signal
for the engine. The AI's say-so authorises nothing."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from actions.ai import ai_call_run
from actions.catalog import TOOLS
from actions.models import Actor, DraftedAction, ExecutionRequest
from actions.policy import Decision
from actions.selectors import conversation_account_id
from actions.services import ActionOutcome, action_check, action_draft
from conversations.models import Conversation
from escalation.services import signal_record


def ai_tool_call_check(*, conversation: Conversation, tool: str, args: dict[str, Any]) -> Decision:
    """What the policy would decide for the AI now. It decides again when the call runs."""
    return action_check(
        actor=Actor.AI,
        tool=tool,
        args=args,
        account_id=conversation_account_id(conversation=conversation),
        ai_read_only=conversation.ai_read_only,
        conversation_id=conversation.pk,
    )


@transaction.atomic
def ai_tool_call_execute(
    *, conversation: Conversation, tool: str, args: dict[str, Any]
) -> tuple[ActionOutcome, DraftedAction | None]:
    """Run the AI's call through the policy; returns the outcome and the draft it left for a
    human, if any. A read that finds nothing, or a call the catalog does not know, is only
    answered."""
    outcome = ai_call_run(conversation=conversation, tool=tool, args=args)
    spec = TOOLS.get(tool)
    if spec is None or not spec.consequential or outcome.decision.outcome == "allow":
        return outcome, None
    drafted = action_draft(
        tool=tool,
        args=args,
        drafted_by=Actor.AI,
        account_id=conversation_account_id(conversation=conversation) or "",
        conversation=conversation,
    )
    signal_record(
        conversation=conversation,
        kind="policy_denied",
        evidence={
            "tool": tool,
            "decision": outcome.decision.outcome,
            "reasons": outcome.decision.reasons,
            "drafted_action": drafted.pk,
        },
    )
    return outcome, drafted


# How long an Idempotency-Key is remembered (docs/protocol.md, as Stripe does).
IDEMPOTENCY_TTL = timedelta(hours=24)


class IdempotencyConflict(Exception):
    """The key was used for a different request: nothing is run (409)."""


def _request_hash(*, conversation: Conversation, tool: str, args: dict[str, Any]) -> str:
    body = {"conversation": conversation.external_id, "tool": tool, "args": args}
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(encoded.encode()).hexdigest()


def execute_answer(outcome: ActionOutcome, drafted: DraftedAction | None) -> dict[str, Any]:
    """What /actions/execute answers for a run."""
    return {**outcome.as_dict(), "drafted_action": drafted.pk if drafted else None}


@transaction.atomic
def ai_tool_call_execute_once(
    *, conversation: Conversation, tool: str, args: dict[str, Any], key: str
) -> tuple[dict[str, Any], bool]:
    """ai_tool_call_execute at most once per Idempotency-Key: the same key with the same
    request gets the first answer again (and whether it is a replay); the same key with
    another request raises IdempotencyConflict. The key is claimed before the call runs and
    its answer written in the same transaction, so a retry racing the first request waits
    for it rather than running twice."""
    digest = _request_hash(conversation=conversation, tool=tool, args=args)
    mine = ExecutionRequest.objects.filter(integration_id=conversation.integration_id, key=key)
    mine.filter(created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
    try:
        with transaction.atomic():
            record = ExecutionRequest.objects.create(
                integration_id=conversation.integration_id, key=key, request_hash=digest
            )
    except IntegrityError:
        first = mine.get()
        if first.request_hash != digest:
            raise IdempotencyConflict(
                "This Idempotency-Key was used for a different request; nothing was run."
            ) from None
        return first.response, True
    outcome, drafted = ai_tool_call_execute(conversation=conversation, tool=tool, args=args)
    answer = json.loads(json.dumps(execute_answer(outcome, drafted), cls=DjangoJSONEncoder))
    record.response = answer
    record.save(update_fields=["response"])
    return answer, False


def execution_requests_purge() -> int:
    """Forget Idempotency-Keys older than IDEMPOTENCY_TTL; returns how many."""
    deleted, _ = ExecutionRequest.objects.filter(
        created_at__lt=timezone.now() - IDEMPOTENCY_TTL
    ).delete()
    return deleted
