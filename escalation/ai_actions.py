"""The AI's tool calls, under the same policy as a person's. A consequential call the policy
does not allow is not run: it becomes a drafted action for a human, and a policy_denied signal
for the engine. The AI's say-so authorises nothing."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from actions.catalog import TOOLS
from actions.models import Actor, DraftedAction
from actions.policy import Decision
from actions.selectors import conversation_account_id
from actions.services import ActionOutcome, action_check, action_draft, action_execute
from conversations.models import Conversation
from conversations.services import conversation_account_bind
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
    account_id = conversation_account_id(conversation=conversation)
    outcome = action_execute(
        actor=Actor.AI,
        tool=tool,
        args=args,
        account_id=account_id,
        ai_read_only=conversation.ai_read_only,
        conversation=conversation,
    )
    spec = TOOLS.get(tool)
    found = outcome.result.get("user_id") if outcome.executed else None
    if found and not account_id and spec is not None and spec.authenticates:
        # Found by email, or by name and zip: that is how the store's policy has a customer
        # authenticated, and the conversation is about them from now on.
        conversation_account_bind(conversation=conversation, account_id=found)
    if spec is None or not spec.consequential or outcome.decision.outcome == "allow":
        return outcome, None
    drafted = action_draft(
        tool=tool,
        args=args,
        drafted_by=Actor.AI,
        account_id=account_id or "",
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
