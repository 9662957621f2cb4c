"""The assistant's catalog calls: every one through actions.services as the actor `ai`, the
least authority, with the conversation's customer and read-only flag. What the model or the
customer says never widens that: the policy decides at execution, rows locked."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from actions.ai import ai_call_run
from actions.catalog import TOOLS
from actions.services import ActionOutcome, storable
from assistant.turn import ToolRecord
from conversations.models import Conversation


def tool_run(*, conversation: Conversation, tool: str, args: dict[str, Any]) -> ToolRecord:
    """Run one call as the AI. A read that authenticates (by email, or name and zip) binds the
    customer it found to the conversation, once; a consequential call the policy does not
    allow is not run and is recorded `denied` with the decision, for the packet to draft."""
    if not isinstance(args, dict):
        args = {}
    # The AI stops the moment a person has the conversation, even in the middle of a turn.
    conversation.refresh_from_db(fields=["owner"])
    if conversation.owner != Conversation.Owner.AI:
        return ToolRecord(
            tool=storable(tool)[:100] or "unknown",
            args=storable(args),
            status="error",
            result={"skipped": True, "message": "A person has this conversation now."},
        )
    outcome: ActionOutcome = ai_call_run(conversation=conversation, tool=tool, args=args)
    spec = TOOLS.get(tool)
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
