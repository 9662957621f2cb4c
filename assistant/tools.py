"""The assistant's catalog calls: every one through actions.services as the actor `ai`, the
least authority, with the conversation's customer and read-only flag. What the model or the
customer says never widens that: the policy decides at execution, rows locked."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from actions.catalog import TOOLS
from actions.models import Actor
from actions.selectors import conversation_account_id
from actions.services import ActionOutcome, action_execute, storable
from assistant.turn import ToolRecord
from conversations.models import Conversation
from conversations.services import conversation_account_bind


def tool_run(*, conversation: Conversation, tool: str, args: dict[str, Any]) -> ToolRecord:
    """Run one call as the AI. A read that authenticates (by email, or name and zip) binds the
    customer it found to the conversation, once; a consequential call the policy does not
    allow is not run and is recorded `denied` with the decision, for the packet to draft."""
    if not isinstance(args, dict):
        args = {}
    account_id = conversation_account_id(conversation=conversation)
    outcome: ActionOutcome = action_execute(
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
    decision = outcome.decision
    if decision.outcome == "allow" and outcome.executed:
        status = "ok"
        result = outcome.result
    else:
        status = "denied" if decision.outcome in ("deny", "needs_approval") else "error"
        result = decision.as_dict()
    return ToolRecord(
        tool=storable(tool)[:100] or "unknown",
        args=storable(args),
        status=status,
        result=_json_ready(result),
        consequential=bool(spec and spec.consequential),
        executed=outcome.executed and bool(spec and spec.consequential),
    )


def _json_ready(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
