"""The AI's calls: one path for any AI, a platform's or Baton's own assistant."""

from __future__ import annotations

from typing import Any

from actions.catalog import TOOLS
from actions.models import Actor
from actions.selectors import conversation_account_id
from actions.services import ActionOutcome, action_execute
from conversations.models import Conversation
from conversations.services import conversation_account_bind


def ai_call_run(*, conversation: Conversation, tool: str, args: dict[str, Any]) -> ActionOutcome:
    """Run the AI's call through the policy as the actor `ai`, with the conversation's customer
    and its read-only flag. A read that finds the customer by email, or by name and zip (how
    the store's policy has a customer authenticated), binds them to the conversation once:
    the conversation is about them from then on."""
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
        conversation_account_bind(conversation=conversation, account_id=found)
    return outcome
