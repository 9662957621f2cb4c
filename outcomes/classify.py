"""A contact's path, outcome and figures, decided from its history alone (docs/metrics.md).

classify() is pure: it reads a ContactHistory, the same customer's later conversations and
their store activity, and the time now. It never touches the database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from escalation.signals.pleasantry import is_pleasantry
from outcomes.handoff import known_before, refers_to_context, restatements, substantive_text
from outcomes.history import CaseStint, ContactHistory, LaterContact, StoreActivity, Turn

__all__ = ["ContactFacts", "LaterContact", "StoreActivity", "classify"]

# A contact with no close ends once nothing has happened for this long (Zendesk's rule).
INACTIVE_AFTER = timedelta(hours=72)
# Day 30 recurs, day 31 does not: another conversation started within 30 x 24 h of the end.
RECUR_SHORT = timedelta(days=7)
RECUR_LONG = timedelta(days=30)
CHURN_WINDOW = timedelta(days=60)
# Ratings of 4-5 are positive (they confirm an AI resolution), 1-2 negative.
POSITIVE_RATING = 4
NEGATIVE_RATING = 2


@dataclass(frozen=True)
class ContactFacts:
    """Contact's fields, one to one (outcomes/models.py), except the conversation itself."""

    started_at: datetime
    customer_key: str = ""
    account_id: str = ""
    tier: str = ""
    topic: str = ""
    team: str = ""
    ended_at: datetime | None = None
    ended_by: str = ""
    path: str = ""
    outcome: str = ""
    confirmed: bool = False
    abandoned_in_queue: bool = False
    human_end: str = ""
    resolved: bool = False
    first_owner: bool = False
    fcr: bool = False
    recurred_7d_same: bool = False
    recurred_30d_same: bool = False
    recurred_30d_any: bool = False
    rating: int | None = None
    rating_ai: int | None = None
    rating_human: int | None = None
    handoff_at: datetime | None = None
    ai_seconds: float | None = None
    wait_seconds: float | None = None
    repeated: bool = False
    repeat_evidence: list[dict[str, Any]] = field(default_factory=list)
    cold_greeting: bool = False
    repurchased_60d: bool | None = None
    cancelled_60d: bool | None = None


def classify(
    history: ContactHistory,
    *,
    later: Sequence[LaterContact] = (),
    now: datetime,
    activity: StoreActivity | None = None,
) -> ContactFacts:
    """The contact's facts as of `now`. `later` are the same customer's other conversations
    (those that started after this one ended count); `activity` their store behaviour, for the
    churn flags (null without it, or before 60 days have passed)."""
    ratings = _ratings(history.turns)
    last_case = history.cases[-1] if history.cases else None
    base: dict[str, Any] = {
        "started_at": history.started_at,
        "customer_key": history.customer_key,
        "account_id": history.account_id,
        "tier": history.tier,
        "topic": history.topic,
        "team": last_case.team if last_case else "",
        "rating": ratings.get("overall"),
        "rating_ai": ratings.get("ai"),
        "rating_human": ratings.get("human"),
    }
    ended_at, ended_by = contact_end(history, now=now)
    if ended_at is None:
        return ContactFacts(**base)
    path = contact_path(history)
    recurrence = _recurrence(history, ended_at=ended_at, later=later)
    facts = base | {"ended_at": ended_at, "ended_by": ended_by, "path": path, **recurrence}
    if path == "ai_only":
        facts |= _ai_only(history, ratings=ratings, recurred_7d=recurrence["recurred_7d_same"])
    else:
        facts |= _escalated(history)
        facts |= _handoff(history)
    facts["fcr"] = bool(facts.get("first_owner")) and not recurrence["recurred_7d_same"]
    facts |= churn_flags(ended_at=ended_at, now=now, activity=activity)
    return ContactFacts(**facts)


def contact_end(history: ContactHistory, *, now: datetime) -> tuple[datetime | None, str]:
    """When the contact ended and how: at its close event, or at its last event once 72 h
    passed with nothing new (feedback is not activity: a survey answer reopens nothing)."""
    if history.closed_at is not None:
        return history.closed_at, "close"
    activity = [t.at for t in history.turns if t.type != "feedback"]
    last = max(activity, default=history.started_at)
    if now - last >= INACTIVE_AFTER:
        return last, "inactive"
    return None, ""


def contact_path(history: ContactHistory) -> str:
    """ai_only with no case; ai_then_human when an AI message came before the first case
    opened; human_direct otherwise."""
    if not history.cases:
        return "ai_only"
    first = history.cases[0]
    if any(_ai_message(t) and t.seq <= first.opened_seq for t in history.turns):
        return "ai_then_human"
    return "human_direct"


def _ai_message(turn: Turn) -> bool:
    return turn.type == "message" and turn.role == "ai"


def _ratings(turns: Sequence[Turn]) -> dict[str, int]:
    """The last rating given for each part, whenever it came (before or after the close), in
    the order they were given: the last one given is last."""
    ratings: dict[str, int] = {}
    for turn in sorted((t for t in turns if t.type == "feedback"), key=lambda t: t.seq):
        rating = turn.payload.get("rating")
        if isinstance(rating, int) and 1 <= rating <= 5:
            part = str(turn.payload.get("part") or "overall")
            ratings.pop(part, None)
            ratings[part] = rating
    return ratings


def substantive_answer(turns: Sequence[Turn]) -> Turn | None:
    """The AI's first substantive answer: a message with an answer in it (handoff.py), or a
    tool call that succeeded."""
    for turn in turns:
        if _ai_message(turn) and substantive_text(turn.text):
            return turn
        if turn.type == "tool_call" and turn.payload.get("status") == "ok":
            return turn
    return None


_CONFIRM = re.compile(
    r"\b(?:that|it|this) (?:worked|works|did it|did the trick|helped|fixed it|solved it)\b"
    r"|\b(?:problem|issue) (?:is )?(?:solved|resolved|fixed|sorted)\b|\bsorted\b|\ball set\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(?:not|no|never|still)\b|n't\b", re.IGNORECASE)


def confirmed_in_words(text: str) -> bool:
    """A customer's message that accepts the answer: a closing thank-you or acknowledgement
    (the engine's pleasantry test), or a plain "that worked" with no negation or question."""
    if is_pleasantry(text):
        return True
    return bool(_CONFIRM.search(text)) and not _NEGATION.search(text) and "?" not in text


def _ai_only(history: ContactHistory, *, ratings: dict[str, int], recurred_7d: bool) -> dict:
    if history.closed_outcome == "abandoned":
        return {"outcome": "abandoned"}
    answer = substantive_answer(history.turns)
    # A close `resolved`, or 72 h of silence, is a resolution only after a substantive answer
    # and without the customer coming back on the same topic within 7 days.
    if answer is None or recurred_7d:
        return {"outcome": "deflected"}
    # In the order they were given (dicts keep it): the last of the AI's or the overall.
    given = [rating for part, rating in ratings.items() if part in ("ai", "overall")]
    words = any(
        t.type == "message" and t.role == "customer" and confirmed_in_words(t.text)
        for t in history.turns
        if t.seq > answer.seq
    )
    confirmed = (bool(given) and given[-1] >= POSITIVE_RATING) or (
        words and not any(r <= NEGATIVE_RATING for r in given)
    )
    return {"outcome": "ai_resolved", "confirmed": confirmed, "resolved": True, "first_owner": True}


_HUMAN_END = {
    "resolved": "resolved",
    "follow_up": "follow_up",
    "handed_back": "handed_back",
    # The work goes on in the case it was merged into.
    "merged": "follow_up",
    "": "unfinished",
}


def _human_messages(history: ContactHistory, stint: CaseStint) -> list[Turn]:
    return [
        t
        for t in history.turns
        if t.type == "message" and t.role == "agent" and t.seq > stint.opened_seq
    ]


def _escalated(history: ContactHistory) -> dict[str, Any]:
    last = history.cases[-1]
    human_end = _HUMAN_END.get(last.outcome, "follow_up")
    # The customer left while waiting for a person: the last case was still open and no one
    # had written to them since it opened.
    in_queue = not last.outcome and not _human_messages(history, last)
    if in_queue:
        return {"outcome": "abandoned", "abandoned_in_queue": True, "human_end": human_end}
    resolved = human_end == "resolved" or (
        human_end == "handed_back" and history.closed_outcome == "resolved"
    )
    # One person, no transfer or requeue, one case: the AI's turn before the handoff is not
    # an owner change, a hand-back and a second case are.
    first = history.cases[0]
    one_owner = len(history.cases) == 1 and len(first.holders) <= 1 and first.transfers == 0
    return {
        "outcome": "escalated",
        "human_end": human_end,
        "resolved": resolved,
        "first_owner": resolved and one_owner and human_end == "resolved",
    }


def _handoff(history: ContactHistory) -> dict[str, Any]:
    """Handoff quality: the AI's time before the first handoff, the wait from it to the first
    human message (a greeting counts: the customer is no longer waiting), whether the customer
    restated what was known, and whether the first person's message was cold."""
    first = history.cases[0]
    handoff_at = first.opened_at
    replies = _human_messages(history, first)
    wait = (replies[0].at - handoff_at).total_seconds() if replies else None
    evidence: list[dict[str, Any]] = []
    for index, stint in enumerate(history.cases):
        until = history.cases[index + 1].opened_seq if index + 1 < len(history.cases) else None
        if stint.resolved_seq is not None:
            until = min(until, stint.resolved_seq) if until is not None else stint.resolved_seq
        known = known_before(
            customer_texts=[
                t.text for t in history.turns if _customer_message(t) and t.seq <= stint.opened_seq
            ],
            packet=stint.packet,
        )
        agent_texts: list[str] = []
        for turn in history.turns:
            if turn.seq <= stint.opened_seq or (until is not None and turn.seq > until):
                continue
            if turn.type == "message" and turn.role == "agent":
                agent_texts.append(turn.text)
            elif _customer_message(turn):
                evidence += restatements(
                    text=turn.text, seq=turn.seq, known=known, agent_texts=agent_texts[-1:]
                )
    seen: set[tuple[Any, Any]] = set()
    unique = []
    for item in evidence:
        key = (item["kind"], item["text"])
        if key not in seen:
            seen.add(key)
            unique.append(item)
    cold = False
    if replies and not replies[0].payload.get("greeting"):
        known = known_before(
            customer_texts=[
                t.text for t in history.turns if _customer_message(t) and t.seq <= first.opened_seq
            ],
            packet=first.packet,
        )
        cold = not refers_to_context(text=replies[0].text, known=known, topic=history.topic)
    return {
        "handoff_at": handoff_at,
        "ai_seconds": max(0.0, (handoff_at - history.started_at).total_seconds()),
        "wait_seconds": max(0.0, wait) if wait is not None else None,
        "repeated": bool(unique),
        "repeat_evidence": unique,
        "cold_greeting": cold,
    }


def _customer_message(turn: Turn) -> bool:
    return turn.type == "message" and turn.role == "customer"


def _recurrence(
    history: ContactHistory, *, ended_at: datetime, later: Sequence[LaterContact]
) -> dict[str, bool]:
    """Another conversation of the customer started after this one ended: within 7 days on the
    same topic, within 30 days on the same or any topic. A topic is the same only when both
    are known and equal."""
    flags = {"recurred_7d_same": False, "recurred_30d_same": False, "recurred_30d_any": False}
    if not history.customer_key:
        return flags
    for other in later:
        gap = other.started_at - ended_at
        if gap < timedelta(0) or gap > RECUR_LONG:
            continue
        same = bool(history.topic) and other.topic == history.topic
        flags["recurred_30d_any"] = True
        if same:
            flags["recurred_30d_same"] = True
            if gap <= RECUR_SHORT:
                flags["recurred_7d_same"] = True
    return flags


def churn_flags(
    *, ended_at: datetime, now: datetime, activity: StoreActivity | None
) -> dict[str, bool | None]:
    """Orders placed and subscriptions ended in the 60 days after the end: null until the 60
    days have passed, or when the customer has no store account to read."""
    until = ended_at + CHURN_WINDOW
    if activity is None or now < until:
        return {"repurchased_60d": None, "cancelled_60d": None}
    return {
        "repurchased_60d": any(ended_at < at <= until for at in activity.orders_at),
        "cancelled_60d": any(ended_at < at <= until for at in activity.subscriptions_ended_at),
    }
