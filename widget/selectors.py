"""The widget's reads: one conversation, as its customer may see it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from assistant.selectors import widget_integration_name
from conversations.models import Conversation, Event
from escalation.cases.access import user_name
from escalation.cases.estimate import WaitEstimate, wait_estimate
from escalation.cases.routing import PRESENCE_TIMEOUT
from escalation.models import AgentProfile, Case
from widget.tokens import WidgetSession

# What a customer sees of the record: messages, and where the conversation went.
VISIBLE_TYPES = (Event.Type.MESSAGE, Event.Type.HANDOFF, Event.Type.CLOSE)
HANDOFF_TEXT = "You're waiting for a person from our team. They'll see everything said so far."
CLOSE_TEXT = "This conversation has ended."


def widget_conversation(*, session: WidgetSession) -> Conversation | None:
    """The one conversation a token opens (None until its first event is stored)."""
    return (
        Conversation.objects.filter(
            integration__name=widget_integration_name(), external_id=session.conversation
        )
        .select_related("integration")
        .first()
    )


def _client_id(event: Event, conversation: Conversation) -> str | None:
    prefix = f"{conversation.external_id}."
    return event.event_id.removeprefix(prefix) if event.event_id.startswith(prefix) else None


def widget_event_wire(event: Event, conversation: Conversation) -> dict[str, Any]:
    if event.type == Event.Type.HANDOFF:
        role, text = "system", HANDOFF_TEXT
    elif event.type == Event.Type.CLOSE:
        role, text = "system", CLOSE_TEXT
    else:
        role, text = event.role, event.text
    wire: dict[str, Any] = {
        "type": "event",
        "id": event.event_id,
        "seq": event.seq,
        "role": role,
        "text": text,
        "at": event.at.isoformat(),
    }
    if event.role == "agent":
        wire["author"] = str(event.payload.get("agent") or "Our team")
    if event.role == "customer" and (client_id := _client_id(event, conversation)):
        wire["client_id"] = client_id
    return wire


def widget_events(*, conversation: Conversation, after_seq: int) -> list[dict[str, Any]]:
    """The visible events from seq `after_seq` on, the last seen seq included: two events
    may share a seq, and the client drops the ids it already shows."""
    rows = Event.objects.filter(
        conversation=conversation, seq__gte=max(after_seq, 0), type__in=VISIBLE_TYPES
    ).order_by("seq", "id")
    wires = [widget_event_wire(event, conversation) for event in rows]
    # A hand-back is announced where it happened, after the transcript's last event then.
    handed_back = (
        Case.objects.filter(
            conversation=conversation,
            outcome=Case.Outcome.HANDED_BACK,
            resolved_seq__gte=max(after_seq, 0),
        )
        .select_related("assignee")
        .only("pk", "resolved_seq", "resolved_at", "assignee")
    )
    for case in handed_back:
        wires.append(_hand_back_wire(case))
    return sorted(wires, key=lambda wire: (wire["seq"], wire.get("handback", False)))


def _hand_back_wire(case: Case) -> dict[str, Any]:
    who = user_name(case.assignee) if case.assignee is not None else "Our team"
    return {
        "type": "event",
        "id": f"handback-{case.pk}",
        "seq": case.resolved_seq or 0,
        "role": "system",
        "text": f"{who} handed you back to our assistant. "
        "You can ask for a person again at any time.",
        "at": (case.resolved_at or timezone.now()).isoformat(),
        "handback": True,
    }


def agents_online() -> bool:
    fresh = timezone.now() - PRESENCE_TIMEOUT
    return AgentProfile.objects.filter(
        presence=AgentProfile.Presence.ONLINE, last_seen_at__gte=fresh, user__is_active=True
    ).exists()


@dataclass(frozen=True)
class WidgetState:
    owner: str
    ended: bool
    closed: bool
    waiting: bool
    agents_online: bool
    case_id: int | None
    survey: tuple[dict[str, str], ...]
    # Where the case stands on the queue while it waits there (None otherwise).
    estimate: WaitEstimate | None = None
    # The name the customer sees of the person who holds the case now.
    agent: str | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "queue": _queue_wire(self.estimate),
            "agent": self.agent,
            "type": "state",
            "owner": self.owner,
            "ended": self.ended,
            "closed": self.closed,
            "waiting": self.waiting,
            "agents_online": self.agents_online,
            "survey": list(self.survey),
        }


def widget_state(*, conversation: Conversation | None) -> WidgetState:
    """Who has the conversation, whether it ended, and the survey's parts still unanswered:
    "Did the assistant help?" if the AI spoke, "Did {agent} help?" if a person did."""
    online = agents_online()
    if conversation is None:
        return WidgetState("ai", False, False, False, online, None, ())
    case = (
        conversation.cases.order_by("-pk")
        .select_related("assignee")
        .only("pk", "status", "outcome", "assignee")
        .first()
    )
    closed = conversation.status == Conversation.Status.CLOSED
    # A person resolved the case: the end, unless they handed the chat back to the assistant.
    ended = closed or (
        case is not None
        and case.status == Case.Status.RESOLVED
        and case.outcome != Case.Outcome.HANDED_BACK
    )
    waiting = (
        not ended
        and conversation.owner == Conversation.Owner.HUMAN
        and (case is None or case.status in (Case.Status.PREPARING, Case.Status.QUEUED))
    )
    survey: list[dict[str, str]] = []
    if ended:
        events = Event.objects.filter(conversation=conversation)
        rated = set(events.filter(type=Event.Type.FEEDBACK).values_list("payload__part", flat=True))
        spoke = events.filter(type=Event.Type.MESSAGE)
        if "ai" not in rated and spoke.filter(role="ai").exists():
            survey.append({"part": "ai", "question": "Did the assistant help?"})
        last_agent = spoke.filter(role="agent").order_by("-seq", "-id").first()
        if "human" not in rated and last_agent is not None:
            name = str(last_agent.payload.get("agent") or "our team")
            survey.append({"part": "human", "question": f"Did {name} help?"})
    open_case = case.pk if case is not None and case.status != Case.Status.RESOLVED else None
    estimate = wait_estimate(case_id=case.pk) if waiting and case is not None else None
    agent = None
    if not ended and case is not None and case.status == Case.Status.ASSIGNED and case.assignee:
        agent = user_name(case.assignee)
    return WidgetState(
        conversation.owner,
        ended,
        closed,
        waiting,
        online,
        open_case,
        tuple(survey),
        estimate,
        agent,
    )


def _queue_wire(estimate: WaitEstimate | None) -> dict[str, Any] | None:
    """The position, and the typical-to-worst wait in whole minutes when there is history
    enough to say it (escalation/cases/estimate.py hides it otherwise: never invented)."""
    if estimate is None:
        return None
    wire: dict[str, Any] = {
        "position": estimate.position,
        "next_available": estimate.next_available,
    }
    if estimate.has_range and not estimate.next_available:
        low, high = estimate.low_s or 0.0, estimate.high_s or 0.0
        wire["low_minutes"] = max(1, math.ceil(low / 60))
        wire["high_minutes"] = max(1, math.ceil(high / 60))
    return wire


def widget_transcript_text(*, conversation: Conversation) -> str:
    lines = []
    for wire in widget_events(conversation=conversation, after_seq=0):
        who = {"customer": "You", "ai": "Assistant", "system": "—"}.get(
            wire["role"], wire.get("author", "Our team")
        )
        lines.append(f"[{wire['at'][:16].replace('T', ' ')}] {who}: {wire['text']}")
    return "Your conversation with us:\n\n" + "\n".join(lines) + "\n"
