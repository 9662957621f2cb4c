"""The handover protocol's wire shapes (docs/protocol.md).

One set of pydantic models serves the websocket, the HTTP fallback and the OpenAPI schema.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
ShortText = Annotated[str, StringConstraints(max_length=254)]

MAX_TEXT_CHARS = 16_000
# How deep objects and arrays may nest in one event (docs/protocol.md): deeper is invalid_event.
MAX_EVENT_DEPTH = 64

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: object) -> object:
    # pydantic alone would also take Unix times and offset-less or space-separated strings.
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. 2026-11-27T10:00:00Z")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]


class CustomerIn(BaseModel):
    """Who the customer is, as the platform knows them. Every field is optional."""

    model_config = ConfigDict(extra="ignore")

    external_id: Annotated[str, StringConstraints(max_length=128)] = ""
    email: ShortText = ""
    name: Annotated[str, StringConstraints(max_length=200)] = ""
    phone: Annotated[str, StringConstraints(max_length=50)] = ""


class EventBase(BaseModel):
    # Unknown fields are ignored so that clients may send newer optional fields.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    id: Id
    conversation: Id
    seq: Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)]
    at: Timestamp
    customer: CustomerIn | None = None


class MessageEvent(EventBase):
    type: Literal["message"]
    role: Literal["customer", "ai"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]


class ToolCallEvent(EventBase):
    type: Literal["tool_call"]
    tool: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    args: dict[str, Any] = Field(default_factory=dict)
    status: Literal["ok", "denied", "error"]
    result: dict[str, Any] | None = None


class AiSignalEvent(EventBase):
    type: Literal["ai_signal"]
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None
    intent: Annotated[str, StringConstraints(max_length=100)] | None = None
    topic: Annotated[str, StringConstraints(max_length=100)] | None = None


class HandoffEvent(EventBase):
    type: Literal["handoff"]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class CloseEvent(EventBase):
    type: Literal["close"]
    outcome: Literal["resolved", "abandoned"]


class FeedbackEvent(EventBase):
    """The customer's rating, from a platform's own survey or Baton's (docs/metrics.md)."""

    type: Literal["feedback"]
    rating: Annotated[int, Field(strict=True, ge=1, le=5)]
    part: Literal["ai", "human", "overall"] = "overall"
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None


Event = Annotated[
    MessageEvent | ToolCallEvent | AiSignalEvent | HandoffEvent | CloseEvent | FeedbackEvent,
    Field(discriminator="type"),
]
ProtocolEvent = (
    MessageEvent | ToolCallEvent | AiSignalEvent | HandoffEvent | CloseEvent | FeedbackEvent
)
EVENT_TYPES = frozenset({"message", "tool_call", "ai_signal", "handoff", "close", "feedback"})

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


class AckOut(BaseModel):
    type: Literal["ack"] = "ack"
    id: str
    status: Literal["stored", "duplicate"]


class ErrorCode:
    INVALID_JSON = "invalid_json"
    INVALID_EVENT = "invalid_event"
    UNKNOWN_TYPE = "unknown_type"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    CONVERSATION_CLOSED = "conversation_closed"
    NOT_OWNER = "not_owner"


class ErrorOut(BaseModel):
    type: Literal["error"] = "error"
    id: str | None
    code: str
    detail: str


class ControlOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["control"] = "control"
    conversation: str
    owner: Literal["ai", "human"]
    by: Literal["escalation", "agent", "ai"]
    # Sent only on a hand-back to the AI: the agent's context note.
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class MessageOut(BaseModel):
    """A message written by a person at the desk, sent to the integration's sockets."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["message"] = "message"
    conversation: str
    role: Literal["agent"] = "agent"
    text: str
    id: str
    at: str


class EventsIn(BaseModel):
    """The HTTP fallback's body. Events are validated one by one, so one bad event does not
    sink the batch."""

    events: Annotated[list[Any], Field(min_length=1)]


class EventsOut(BaseModel):
    results: list[AckOut | ErrorOut]


class ConversationOut(BaseModel):
    conversation: str
    owner: Literal["ai", "human"]
    status: Literal["open", "closed"]
    events: list[dict[str, Any]]


class ParseFailure(Exception):
    """An event that cannot be accepted, with the protocol error to send back."""

    def __init__(self, *, event_id: str | None, code: str, detail: str) -> None:
        super().__init__(detail)
        self.error = ErrorOut(id=event_id, code=code, detail=detail)


def client_event_id(raw: object) -> str | None:
    """The event's own id if it has a usable one, so an error can name the event it is about:
    an id that could not itself be sent back (a NUL, an unpaired surrogate) is not named."""
    if isinstance(raw, dict):
        value = raw.get("id")
        if isinstance(value, str) and 0 < len(value) <= 128 and not unstorable(value):
            return value
    return None


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not a JSON value")


def json_loads_strict(text: str | bytes) -> Any:
    """json.loads, refusing NaN and Infinity: Python's json accepts them, JSON does not."""
    return json.loads(text, parse_constant=_not_json)


NOT_FINITE = "a number is not finite"


def has_non_finite(value: object) -> bool:
    """Whether a decoded JSON value holds NaN or an infinity (Python reads 1e400 as one)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def unstorable(value: object) -> str:
    """Why a decoded JSON value cannot be stored ("" if it can): a NUL character or an unpaired
    surrogate in any string or key, a number that is not finite (NaN, Infinity), or nesting
    deeper than MAX_EVENT_DEPTH."""
    # depth: how many objects and arrays hold the item (the event itself is held by none).
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list) and depth >= MAX_EVENT_DEPTH:
            return f"objects and arrays nest deeper than {MAX_EVENT_DEPTH} levels"
        if isinstance(item, str):
            if "\x00" in item:
                return "a string contains a NUL character"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "a string contains an unpaired surrogate"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return NOT_FINITE
        elif isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return ""


def event_parse(raw: object) -> ProtocolEvent:
    """Validate one decoded event, or raise ParseFailure with the protocol's error code."""
    event_id = client_event_id(raw)
    if not isinstance(raw, dict):
        raise ParseFailure(
            event_id=None, code=ErrorCode.INVALID_EVENT, detail="An event must be a JSON object."
        )
    if why := unstorable(raw):
        raise ParseFailure(
            event_id=event_id, code=ErrorCode.INVALID_EVENT, detail=f"Cannot be stored: {why}."
        )
    event_type = raw.get("type")
    if event_type is not None and not isinstance(event_type, str):
        raise ParseFailure(
            event_id=event_id,
            code=ErrorCode.INVALID_EVENT,
            detail="type: must be a string, one of " + ", ".join(sorted(EVENT_TYPES)) + ".",
        )
    if event_type not in EVENT_TYPES:
        raise ParseFailure(
            event_id=event_id,
            code=ErrorCode.UNKNOWN_TYPE,
            detail=f"Unknown event type {event_type!r}; expected one of "
            + ", ".join(sorted(EVENT_TYPES))
            + ".",
        )
    text = raw.get("text")
    if event_type == "message" and isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
        raise ParseFailure(
            event_id=event_id,
            code=ErrorCode.TOO_LARGE,
            detail=f"text is {len(text)} characters; the limit is {MAX_TEXT_CHARS}.",
        )
    try:
        return event_adapter.validate_python(raw)
    except ValidationError as exc:
        raise ParseFailure(
            event_id=event_id, code=ErrorCode.INVALID_EVENT, detail=_describe(exc)
        ) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        # The first location item is the discriminator's tag; the rest is the field path.
        loc = ".".join(str(part) for part in error["loc"][1:]) or "event"
        parts.append(f"{loc}: {error['msg']}")
    return "; ".join(parts)
