"""The embedded handoff packet: a deterministic, structured summary built from the transcript
and the facts extracted from it. No network."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from escalation.analysis import MessageFacts, StateFacts, Turn
from escalation.entities import Entity
from escalation.linking import Link

MAX_SUMMARY = 900
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_HANDLE = re.compile(r"(^|\s)@\w+")
_URL = re.compile(r"https?://\S+")
_NOISE = re.compile(r"\s+")
# Opening pleasantries say nothing about what the customer wants.
_GREETING = re.compile(
    r"^(hi|hello|hey|good (morning|afternoon|evening)|thanks?( you)?|ok(ay)?|yes|no|sure)\b[\s,!.]*$",
    re.IGNORECASE,
)
_REQUEST_WORDS = re.compile(
    r"\b(want|need|would like|wanna|can you|could you|please|help|how (do|can)|why|where|when|"
    r"not|never|still|haven'?t|didn'?t|won'?t|can'?t|issue|problem|broken|wrong|cancel|return|"
    r"refund|exchange|order|charge|deliver)\b",
    re.IGNORECASE,
)


def _clean(text: str) -> str:
    text = _URL.sub("", _HANDLE.sub(" ", text))
    return _NOISE.sub(" ", text).strip()


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(_clean(text)) if s.strip()]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _main_request(customer_texts: Sequence[str]) -> str:
    """The customer's first substantive sentence, preferring one that asks for something."""
    candidates = [s for text in customer_texts for s in _sentences(text) if not _GREETING.match(s)]
    for sentence in candidates[:6]:
        if _REQUEST_WORDS.search(sentence) and len(sentence.split()) >= 4:
            return sentence
    return candidates[0] if candidates else ""


# A sentence that only acknowledges ("thanks, that helps", "ok great") leaves nothing open.
_ACKNOWLEDGEMENT = re.compile(
    r"^(thanks?|thank you|ok(ay)?|great|perfect|awesome|cool|got it|sounds good)\b", re.IGNORECASE
)


def _still_asking(customer_texts: Sequence[str]) -> str:
    """The customer's latest substantive sentence: what they were still asking for when the AI
    stopped. Fragments ("NOW.") and acknowledgements are passed over."""
    for text in reversed(customer_texts):
        for sentence in reversed(_sentences(text)):
            if len(sentence.split()) >= 3 and not _ACKNOWLEDGEMENT.match(sentence):
                return sentence
    return ""


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def feeling_label(state: StateFacts) -> str:
    now, trend = state.sentiment, state.trend
    if now <= -0.5:
        mood = "very upset"
    elif now <= -0.15:
        mood = "frustrated"
    elif now < 0.2:
        mood = "neutral"
    else:
        mood = "positive"
    if trend <= -0.15:
        return f"{mood}, and getting worse"
    if trend >= 0.15 and now < 0.2:
        return f"{mood}, but calming down"
    return mood


def _tool_attempts(turns: Sequence[Turn]) -> list[tuple[str, str, str]]:
    """Each tool call as (what: tool and target, outcome: done/denied/failed, result brief)."""
    attempts = []
    for turn in turns:
        if turn.type == "tool_call":
            outcome = {"ok": "done", "denied": "denied", "error": "failed"}.get(
                turn.tool_status, turn.tool_status
            )
            target = turn.tool_args.get("order_id") or turn.tool_args.get("user_id") or ""
            amount = turn.tool_args.get("amount")
            detail = " ".join(str(x) for x in (target, f"${amount}" if amount else "") if x)
            what = f"{turn.tool}{f' ({detail})' if detail else ''}"
            attempts.append((what, outcome, _result_brief(turn.tool_result)))
    return attempts


def _ai_tried(attempts: Sequence[tuple[str, str, str]]) -> list[str]:
    return [
        f"{what}: {outcome}" + (f" ({brief})" if brief else "") for what, outcome, brief in attempts
    ]


def _result_brief(result: Any) -> str:
    """The first few plain facts of a tool's result ("status shipped, carrier UPS")."""
    if isinstance(result, dict):
        facts = [
            f"{key.replace('_', ' ')} {value}"
            for key, value in result.items()
            if isinstance(value, str | int | float) and not isinstance(value, bool) and value != ""
        ]
        return _clip(", ".join(facts[:3]), 120)
    if isinstance(result, str):
        return _clip(result, 120)
    if isinstance(result, list):
        return f"{len(result)} item{'s' if len(result) != 1 else ''}"
    return ""


def _ai_said(turns: Sequence[Turn]) -> str:
    ai_texts = [t.text for t in turns if t.type == "message" and t.role == "ai" and t.text]
    for text in ai_texts:
        for sentence in _sentences(text):
            if len(sentence.split()) >= 5 and not sentence.endswith("?"):
                return sentence
    return ""


def summary_build(
    *, turns: Sequence[Turn], state: StateFacts, entities: Sequence[Entity], link: Link
) -> dict[str, Any]:
    customer_texts = [t.text for t in turns if t.type == "message" and t.role == "customer"]
    wants = _clip(_main_request(customer_texts), 300)
    attempts = _tool_attempts(turns)
    tried = _ai_tried(attempts)
    said = _clip(_ai_said(turns), 240)
    last_customer = _clip(_still_asking(customer_texts), 200)
    denied = [what for what, outcome, _ in attempts if outcome in ("denied", "failed")]
    still_open = f"{denied[-1]} still needs doing" if denied else last_customer or wants
    feeling = feeling_label(state)
    parts = []
    if wants:
        parts.append(f"Customer wants: {_lower_first(wants)}")
    if tried:
        parts.append("AI tried: " + "; ".join(tried[-4:]) + ".")
    elif said:
        parts.append(f"AI answered: {_lower_first(said)}")
    if still_open and still_open != wants:
        parts.append(f"Still open: {_lower_first(still_open)}")
    parts.append(f"Customer feels {feeling}.")
    text = " ".join(p if p.endswith((".", "?", "!", "…")) else p + "." for p in parts)
    return {
        "text": _clip(text, MAX_SUMMARY),
        "customer_wants": wants,
        "ai_tried": tried,
        "ai_said": said,
        "still_open": still_open,
        "customer_feeling": feeling,
    }


# How the suggested reply names what the conversation is about. The customer's own words are
# never echoed: they may hold an amount, a date or a demand the reply must not seem to accept.
_TOPIC_PHRASES = {
    "cancellation": "cancelling",
    "return": "a return",
    "exchange": "an exchange",
    "refund": "a refund request",
    "shipping": "a delivery",
    "order_status": "where your order is",
    "shipping_damage": "a delivery that arrived damaged",
    "billing": "a charge",
    "account": "your account",
    "product_question": "a question about a product",
    "legal": "a legal concern",
    "injury_safety": "a safety concern",
    "fraud": "activity on your account you don't recognise",
    "accessibility": "making this work for you",
    "privacy": "your personal data",
}


def _about(*, topic: str, order_ids: Sequence[str]) -> str:
    orders = list(dict.fromkeys(order_ids))[:2]
    named = f"order{'s' if len(orders) > 1 else ''} {' and '.join(orders)}" if orders else ""
    phrase = _TOPIC_PHRASES.get(topic, "")
    if phrase and named:
        return f" I can see this is about {phrase}, for {named}."
    if phrase or named:
        return f" I can see this is about {phrase or named}."
    return ""


def suggested_reply(*, first_name: str, state: StateFacts, order_ids: Sequence[str] = ()) -> str:
    """The agent's first reply after the greeting (which says who they are and that the context
    is known, so this does not say it again). Warm, shows the context is known, and promises
    nothing: no amounts, refunds or dates."""
    thanks = f"Thank you for waiting, {first_name}." if first_name else "Thank you for waiting."
    about = _about(topic=state.topic, order_ids=order_ids)
    empathy = ""
    if state.sentiment <= -0.15 or state.counts.get("customer_requested_human"):
        empathy = " I'm sorry this has taken more of your time than it should have."
    if state.topic == "bereavement":
        empathy = " I'm so sorry for your loss, and I'll take care of this with you."
    next_step = " I'm checking your account now, and I'll tell you exactly what I can do."
    return (thanks + about + empathy + next_step).strip()


def _order_ids(turns: Sequence[Turn], entities: Sequence[Entity], link: Link) -> list[str]:
    """The orders the customer named: those of the linked account's, when one is linked."""
    if link.customer_id is not None:
        return list(link.order_ids)
    return [
        e.value
        for e in entities
        if e.type == "order_id" and e.turn < len(turns) and turns[e.turn].role == "customer"
    ]


def packet_build(
    *,
    turns: Sequence[Turn],
    messages: Sequence[MessageFacts],
    state: StateFacts,
    entities: Sequence[Entity],
    link: Link,
    reasons: Sequence[str],
    customer: dict[str, Any] | None = None,
    drafted_actions: Sequence[int] = (),
    writer_name: str = "",
) -> dict[str, Any]:
    """`writer_name` is the name the platform gave for the person chatting: the reply greets
    them, not the linked account's holder (a bereaved child writing about a parent's account)."""
    summary = summary_build(turns=turns, state=state, entities=entities, link=link)
    first_name = writer_name.split()[0] if writer_name.strip() else ""
    first_name = first_name or (customer or {}).get("first_name", "")
    evidence = [{"seq": m.seq, **span} for m in messages for span in m.spans]
    return {
        "backend": "embedded",
        "summary": summary,
        "sentiment": {
            "now": state.sentiment,
            "trend": state.trend,
            "trajectory": state.trajectory,
            "label": summary["customer_feeling"],
        },
        "risk": state.risk,
        "topic": state.topic,
        "reasons": list(reasons),
        "evidence": evidence[:40],
        "entities": [asdict(e) for e in entities][:60],
        "customer": customer,
        "orders": list(link.order_ids),
        "link_method": link.method,
        "drafted_actions": list(drafted_actions),
        "suggested_reply": suggested_reply(
            first_name=first_name, state=state, order_ids=_order_ids(turns, entities, link)
        ),
    }
