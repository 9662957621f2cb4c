"""A case's timeline in words: who did what, and why for the steps nobody clicked ("auto-assigned
to Leo", "re-queued: Leo missed the first-reply deadline"). Pure: everything it names was
stored on the entry when it was written (names included, so no query and no later rename
rewrites history)."""

from __future__ import annotations

from typing import Any

from escalation.models import Case, CaseEvent

_OUTCOMES = dict(Case.Outcome.choices)


def _name(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _requeue_why(reason: str, holder: str) -> str:
    if reason == "agent offline":
        return f"{holder} went offline" if holder else "the agent went offline"
    if reason == "first response SLA missed":
        who = holder or "the agent"
        return f"{who} missed the first-reply deadline"
    return reason


def _with(text: str, note: str) -> str:
    return f"{text}: {note}" if note else text


def timeline_line(event: CaseEvent) -> str:
    """The entry as a person reads it. Call with the entry's actor loaded."""
    data = event.data or {}
    actor = _name(event.actor) if event.actor_id else ""
    kind = event.kind
    Kind = CaseEvent.Kind
    if kind == Kind.QUEUED:
        return f"Queued at P{data['priority']}" if data.get("priority") is not None else "Queued"
    if kind == Kind.ASSIGNED:
        to = data.get("to_name") or "an agent"
        if data.get("auto"):
            return f"Auto-assigned to {to}"
        if data.get("via") == "transfer":
            return f"Assigned to {to} by {actor}'s transfer" if actor else f"Assigned to {to}"
        if event.actor_id and event.actor_id == data.get("to"):
            return f"{to} took the case"
        return f"Assigned to {to} by {actor}" if actor else f"Assigned to {to}"
    if kind == Kind.GREETED:
        after = data.get("after")
        return f"{actor} greeted the customer" + (f", taking over from {after}" if after else "")
    if kind == Kind.FIRST_RESPONSE:
        return f"First reply, by {actor}" if actor else "First reply"
    if kind == Kind.REPLY:
        return f"Reply by {actor}" if actor else "Reply"
    if kind == Kind.NOTE:
        return _with(
            f"Internal note by {actor}" if actor else "Internal note", data.get("text", "")
        )
    if kind == Kind.ACTION:
        what = " ".join(str(data[k]) for k in ("tool", "status") if data.get(k))
        return f"{actor}: {what}" if actor else what
    if kind == Kind.TRANSFER:
        source = data.get("from_name")
        source_part = f" from {source}" if source else ""
        if data.get("to_team"):
            target = f"to the {data['to_team']} team"
        else:
            target = f"to {data.get('to_name') or 'another agent'}"
        by = actor or "Someone"
        return _with(f"{by} transferred the case{source_part} {target}", data.get("note", ""))
    if kind == Kind.REQUEUED:
        why = _requeue_why(data.get("reason", ""), data.get("from_name", ""))
        by = f" by {actor}" if actor else ""
        return f"Re-queued{by}: {why}" if why else f"Re-queued{by}"
    if kind == Kind.SLA_WARNING:
        return "First-reply deadline in under a minute"
    if kind == Kind.SLA_BREACHED:
        holder = data.get("holder_name")
        where = f"{holder} held the case" if holder else "the case was waiting in the queue"
        return f"SLA breached: no first reply by the deadline ({where})"
    if kind == Kind.RESOLVED:
        outcome = _OUTCOMES.get(data.get("outcome", ""), "resolved").lower()
        by = f" by {actor}" if actor else ""
        return _with(f"Closed{by}: {outcome}", data.get("note", ""))
    if kind == Kind.CLOSING_MESSAGE:
        return f"The customer wrote after the close: \u201c{data.get('text', '')}\u201d"
    if kind == Kind.MERGED:
        by = actor or "Someone"
        if data.get("into"):
            return f"{by} merged this case into case {data['into']}"
        return (
            f"{by} merged case {data.get('from')} into this case; its transcript stays on this page"
        )
    if kind == Kind.LLM_PACKET_FAILED:
        return "The LLM's packet failed; the embedded packet stands"
    return event.get_kind_display()
