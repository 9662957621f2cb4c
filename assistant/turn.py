"""What one assistant turn produced, before it is written as protocol events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolRecord:
    """A catalog call the assistant made through the policy, as the `tool_call` event says it:
    `ok` (allowed and run), `denied` (the policy did not allow it: a consequential one becomes a
    draft in the handoff packet) or `error`."""

    tool: str
    args: dict[str, Any]
    status: str
    result: dict[str, Any] = field(default_factory=dict)
    consequential: bool = False
    executed: bool = False


@dataclass
class Turn:
    text: str
    confidence: float
    intent: str
    tools: list[ToolRecord] = field(default_factory=list)
    topic: str | None = None
    handoff_reason: str | None = None
    handoff_note: str | None = None
    # Why the output filter replaced the reply (empty: it was not).
    blocked: list[str] = field(default_factory=list)
