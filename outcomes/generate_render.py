"""A played contact (outcomes/generate_story.py) as the record would hold it: the protocol
events in order (the payloads the ingest stores, and the desk's own messages as
conversation_message_add stores them), and each case with its timeline and packet."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from escalation.cases.routing import sla_minutes
from outcomes.generate_story import Contact, Stint
from outcomes.history import CaseStint, Turn

CONFIRM = (
    "Perfect, that's sorted. Thank you!",
    "Great, that fixed it, thanks.",
    "Thanks, all good now.",
)
NOT_UNDERSTOOD = (
    "I'm sorry, I'm not sure I follow. Could you rephrase?",
    "Sorry, I didn't get that. Can you say it differently?",
)
REPHRASE = (
    "That's not what I asked.",
    "No. Please read my message again.",
    "I already explained, it's about my order.",
)
HELP_PAGE = "Sorry, I can't help with that here. See shop.example/help."
ASK_PERSON = "I'd rather talk to a person, please."
DIRECT = "I want to talk to a person, not a bot. It's about {order}."
STILL_NEED = "Actually, I still need a person for this."
WAITING = "Hello? Is anyone there?"
COLD = "Hello. What is your order number, and what is the problem?"
AFTER_REPLY = ("Thanks, yes please.", "OK, thank you.", "Sounds good.")
REPEAT = "It's order {order}, like I told the assistant. {opening}"
ENDINGS = {
    "resolved": "I've sorted that out for you now. Anything else I can do?",
    "follow_up": "I need to check this with the warehouse; I'll email you within two days.",
    "handed_back": "I've done what's needed; the assistant can help with anything else.",
}
RELEASE = "Thanks for your patience, {first}. Is there anything else I can help with?"
COMMENTS = {1: "Useless.", 2: "Took far too long.", 4: "Helpful, thanks.", 5: "Brilliant service!"}


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class PlayedCase:
    opened_at: datetime
    opened_seq: int
    after_seq: int
    reason: str
    team: str
    topic: str
    end: str
    assigned_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_seq: int | None = None
    holders: list[int] = field(default_factory=list)
    transfers: int = 0
    greeted: bool = False
    packet: dict[str, Any] = field(default_factory=dict)
    # (kind, at, actor id, data); data["seq"] names the event of a greeting or reply.
    steps: list[tuple[str, datetime, int | None, dict[str, Any]]] = field(default_factory=list)

    def stint(self, case_id: int) -> CaseStint:
        return CaseStint(
            case_id=case_id,
            trigger="handoff",
            opened_at=self.opened_at,
            opened_seq=self.opened_seq,
            after_seq=self.after_seq,
            assigned_at=self.assigned_at,
            first_response_at=self.first_response_at,
            resolved_at=self.resolved_at,
            outcome=self.end,
            team=self.team,
            topic=self.topic,
            holders=tuple(self.holders),
            transfers=self.transfers,
            greeted=self.greeted,
            packet=self.packet,
        )

    def row(self, *, conversation_id: int) -> dict[str, Any]:
        return {
            "conversation_id": conversation_id,
            "status": "resolved",
            "trigger": "handoff",
            "reason": self.reason,
            "team": self.team,
            "topic": self.topic,
            "assignee_id": self.holders[-1] if self.holders else None,
            "queued_at": self.opened_at,
            "assigned_at": self.assigned_at,
            "first_response_at": self.first_response_at,
            "resolved_at": self.resolved_at,
            "due_key": self.opened_at - timedelta(minutes=50),
            "sla_due_at": self.opened_at + timedelta(minutes=sla_minutes(50)),
            "summary_line": self.packet["summary"]["customer_wants"][:200],
            "after_seq": self.after_seq,
            "resolved_seq": self.resolved_seq,
            "outcome": self.end,
        }


@dataclass
class Played:
    turns: list[Turn] = field(default_factory=list)
    cases: list[PlayedCase] = field(default_factory=list)
    greetings: set[int] = field(default_factory=set)
    close_seq: int = 0


class _Transcript:
    def __init__(self, conversation: str, customer: dict[str, str]) -> None:
        self.conversation = conversation
        self.customer = customer
        self.played = Played()

    @property
    def seq(self) -> int:
        return len(self.played.turns)

    def add(self, kind: str, at: datetime, role: str = "", text: str = "", **fields: Any) -> int:
        seq = self.seq + 1
        payload: dict[str, Any] = {
            "id": f"{self.conversation}-{seq}",
            "conversation": self.conversation,
            "seq": seq,
            "at": _stamp(at),
            "type": kind,
        }
        if kind == "message":
            payload |= {"role": role, "text": text}
        payload |= fields
        if seq == 1:
            payload["customer"] = self.customer
        history_role = role if kind == "message" else "customer" if kind == "feedback" else ""
        if kind in ("tool_call", "ai_signal", "handoff"):
            history_role = "ai"
        self.played.turns.append(Turn(seq, kind, history_role, text, at, payload))
        return seq

    def desk(self, at: datetime, text: str, agent: str) -> int:
        """A person's message, as conversation_message_add stores it."""
        seq = self.seq + 1
        payload = {
            "type": "message",
            "conversation": self.conversation,
            "role": "agent",
            "text": text,
            "id": f"desk-{self.conversation}-{seq}",
            "at": _stamp(at),
            "seq": seq,
            "agent": agent,
        }
        self.played.turns.append(Turn(seq, "message", "agent", text, at, payload))
        return seq


def _entities(text: str, *, order: str, email: str) -> list[dict[str, Any]]:
    found = []
    for kind, value in (("order_id", order), ("email", email)):
        start = text.find(value)
        if start >= 0:
            found.append(
                {"type": kind, "value": value, "start": start, "end": start + len(value), "turn": 0}
            )
    return found


def render(
    rng: random.Random,
    contact: Contact,
    *,
    conversation: str,
    order: str,
    email: str,
    agents: list[tuple[int, str]],
) -> Played:
    customer = contact.customer
    who: dict[str, str] = {"name": f"{customer.first} {customer.last}"}
    if customer.known_as != "email":
        who["external_id"] = conversation.rsplit("-", 1)[0]
    if customer.known_as != "ext":
        who["email"] = email
    log = _Transcript(conversation, who)
    topic = contact.topic
    opening = topic.opening.format(order=order, email=email)
    at = contact.started
    if contact.path == "human_direct":
        log.add("message", at, "customer", DIRECT.format(order=order))
        opening = DIRECT.format(order=order) + " " + opening
    else:
        log.add("message", at, "customer", opening)
        log.add("ai_signal", at, topic=topic.key, confidence=round(rng.uniform(0.3, 0.95), 2))
        extra = contact.ai_rounds - (1 if contact.substantive else 0)
        round_seconds = contact.ai_seconds / (extra + 1)
        if contact.substantive:
            log.add(
                "tool_call",
                at + timedelta(seconds=2),
                tool=topic.tool,
                args={"order_id": order},
                status="ok",
                result={"found": True},
            )
            log.add(
                "message",
                at + timedelta(seconds=4),
                "ai",
                topic.answer.format(order=order, email=email),
            )
        for n in range(extra):
            log.add("message", at + timedelta(seconds=4), "ai", rng.choice(NOT_UNDERSTOOD))
            at += timedelta(seconds=round_seconds)
            log.add("message", at, "customer", rng.choice(REPHRASE) if n else opening)
        at += timedelta(seconds=round_seconds)
        if contact.confirmed:
            log.add("message", at, "customer", rng.choice(CONFIRM))
        elif contact.path == "ai_only" and not contact.substantive and contact.close == "resolved":
            log.add("message", at, "ai", HELP_PAGE)
        elif contact.path == "ai_then_human" and contact.substantive:
            log.add("message", at, "customer", ASK_PERSON)
    after_seq = 0
    for index, stint in enumerate(contact.stints):
        if index:
            log.add("message", stint.opened_at - timedelta(seconds=20), "customer", STILL_NEED)
        case = _case(
            rng,
            log,
            stint,
            contact=contact,
            opening=opening,
            order=order,
            email=email,
            agents=agents,
            after_seq=after_seq,
        )
        log.played.cases.append(case)
        after_seq = case.resolved_seq or log.seq
        if case.end == "handed_back":
            log.add(
                "message",
                case.resolved_at + timedelta(seconds=5),
                "ai",
                RELEASE.format(first=customer.first),
            )
    ratings_before = [r for r in contact.ratings if r[2]]
    for part, rating, _ in ratings_before:
        log.add("feedback", contact.ended - timedelta(seconds=3), rating=rating, part=part)
    log.played.close_seq = log.add("close", contact.ended, outcome=contact.close)
    answered = contact.ended + timedelta(minutes=rng.uniform(1, 180))
    for part, rating, before in contact.ratings:
        if before:
            continue
        fields: dict[str, Any] = {"rating": rating, "part": part}
        if rating in COMMENTS and rng.random() < 0.3:
            fields["comment"] = COMMENTS[rating]
        log.add("feedback", answered, **fields)
    return log.played


def _case(
    rng: random.Random,
    log: _Transcript,
    stint: Stint,
    *,
    contact: Contact,
    opening: str,
    order: str,
    email: str,
    agents: list[tuple[int, str]],
    after_seq: int,
) -> PlayedCase:
    topic = contact.topic
    reason = "customer_request" if contact.path == "human_direct" else "low_confidence"
    handoff_seq = log.add("handoff", stint.opened_at, reason=reason)
    case = PlayedCase(
        opened_at=stint.opened_at,
        opened_seq=handoff_seq,
        after_seq=after_seq,
        reason=reason,
        team=topic.team,
        topic=topic.key,
        end=stint.end,
        packet={
            "backend": "embedded",
            "summary": {
                "text": f"Customer wants: {opening}",
                "customer_wants": opening,
                "ai_tried": [topic.tool] if contact.substantive else [],
                "ai_said": "",
                "still_open": opening,
                "customer_feeling": "frustrated" if contact.ai_rounds > 2 else "neutral",
            },
            "topic": topic.key,
            "reasons": [reason],
            "entities": _entities(opening, order=order, email=email),
            "orders": [order],
            "drafted_actions": [],
            "suggested_reply": f"Thank you for waiting, {contact.customer.first}.",
        },
    )
    case.steps.append(("queued", stint.opened_at, None, {"priority": 50}))
    first_at = stint.opened_at + timedelta(seconds=stint.wait)
    if stint.left_queue:
        log.add(
            "message", stint.opened_at + timedelta(seconds=stint.wait * 0.6), "customer", WAITING
        )
        # The desk closed the case with no outcome when the customer left: nothing was done.
        case.resolved_at = contact.ended + timedelta(seconds=30)
        case.resolved_seq = log.seq
        note = "The customer left before anyone answered."
        case.steps.append(("resolved", case.resolved_at, None, {"outcome": "", "note": note}))
        return case
    user_id, name = agents[stint.agent]
    case.holders.append(user_id)
    case.assigned_at = max(stint.opened_at, first_at - timedelta(seconds=40))
    case.steps.append(
        ("assigned", case.assigned_at, None, {"to": user_id, "auto": True, "to_name": name})
    )
    first_name = contact.customer.first
    if not stint.cold:
        greeting_at = case.assigned_at + timedelta(seconds=5)
        seq = log.desk(
            greeting_at,
            f"Hi {first_name}, I'm {name.split()[0]}. I've read your conversation, so no need "
            "to repeat anything.",
            name,
        )
        log.played.greetings.add(seq)
        case.greeted = True
        case.steps.append(("greeted", greeting_at, user_id, {"name": name, "seq": seq}))
        reply = f"Thank you for waiting, {first_name}. I'm checking {order} now."
    else:
        reply = COLD
    seq = log.desk(first_at, reply, name)
    case.first_response_at = first_at
    case.steps.append(("reply", first_at, user_id, {"seq": seq}))
    case.steps.append(("first_response", first_at, user_id, {}))
    answer_at = first_at + timedelta(seconds=rng.uniform(20, 80))
    if stint.repeated:
        log.add("message", answer_at, "customer", REPEAT.format(order=order, opening=opening))
    else:
        log.add("message", answer_at, "customer", rng.choice(AFTER_REPLY))
    handler_id, handler = user_id, name
    if stint.transferred_to is not None:
        handler_id, handler = agents[stint.transferred_to]
        moved = first_at + timedelta(seconds=stint.handled * 0.4)
        case.steps.append(("transfer", moved, user_id, {"to": handler_id, "to_name": handler}))
        case.steps.append(("assigned", moved, user_id, {"to": handler_id, "to_name": handler}))
        case.holders.append(handler_id)
        case.transfers = 1
    ending_at = first_at + timedelta(seconds=stint.handled * 0.8)
    seq = log.desk(ending_at, ENDINGS[stint.end], handler)
    case.steps.append(("reply", ending_at, handler_id, {"seq": seq}))
    case.resolved_at = first_at + timedelta(seconds=stint.handled)
    case.resolved_seq = log.seq
    case.steps.append(
        ("resolved", case.resolved_at, handler_id, {"outcome": stint.end, "note": ""})
    )
    return case
