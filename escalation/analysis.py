"""The engine's reading of a conversation: per-message facts, the conversation state and its
risk score. Pure functions over turns, so live conversations (from stored events) and
`manage.py analyze` (from transcript files) go through the same code."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from escalation.signals import (
    TOPIC_KINDS,
    frustration_hits,
    injection_hits,
    loop_hit,
    sentiment,
    topic_hits,
)
from escalation.signals.sentiment import vader

LOW_CONFIDENCE = 0.4
# The one list of sensitive topics is the topic detector's (signals/topics.py).
SENSITIVE_TOPICS = TOPIC_KINDS
FRUSTRATION_KINDS = (
    "customer_requested_human",
    "repeated_question",
    "all_caps",
    "profanity",
    "threat_cancel",
    "threat_chargeback",
    "threat_legal",
    "threat_review",
)
THREAT_KINDS = ("threat_cancel", "threat_chargeback", "threat_legal", "threat_review")
# Half-life, in customer messages, of a message's weight in the current sentiment.
SENTIMENT_HALF_LIFE = 2.0
TREND_WINDOW = 5


@dataclass
class Turn:
    """One event of a conversation, as the engine reads it."""

    role: str  # customer, ai or agent; "" for events that are not messages
    text: str = ""
    type: str = "message"
    seq: int = 0
    confidence: float | None = None
    tool: str = ""
    tool_status: str = ""
    tool_args: dict[str, Any] = field(default_factory=dict)
    tool_result: dict[str, Any] | None = None
    intent: str = ""
    topic: str = ""


@dataclass
class MessageFacts:
    seq: int
    role: str
    sentiment: float | None
    kinds: list[str]
    spans: list[dict[str, Any]]
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class StateFacts:
    sentiment: float
    trajectory: list[float]
    trend: float
    risk: float
    topic: str
    counts: dict[str, int]
    customer_turns: int
    turns: int

    def field_value(self, name: str) -> Any:
        if name in ("risk", "sentiment", "trend", "topic", "customer_turns", "turns"):
            return getattr(self, name)
        return self.counts.get(name, 0)


# Cues that a problem persists unresolved: the customer has waited, tried, or said it before.
_UNRESOLVED = re.compile(
    r"\b(still (not|no|hasn'?t|haven'?t|isn'?t|can'?t|doesn'?t|didn'?t|waiting)|"
    r"not (yet|the first time)|(many|several|few) (times|days|weeks)|"
    r"(days|weeks|months) (ago|later|now)|been (\w+ ){0,2}(days|weeks|months)|how many times|"
    r"again|already|doesn'?t (help|work)|didn'?t (help|work)|"
    r"never (received|got|arrived|heard)|nobody|no one|no (response|reply|answer)|"
    r"tried (everything|your|that|it)|i('ve| have)? (told|said|explained)|"
    r"waste[ds]? (of )?(my )?time|keeps? (happening|breaking|failing)|repeated(ly)?|useless|"
    r"ridiculous|disappoint\w*|unacceptable|complain\w*|cheat\w*|terrible|worst)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(not|no|never|nothing|nobody|none|can'?t|cannot|won'?t|don'?t|doesn'?t|didn'?t|"
    r"haven'?t|hasn'?t|isn'?t|aren'?t|wasn'?t|still|why)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s*")
_APOLOGY = re.compile(r"\b(sorry|apologi[sz]e|apologies)\b", re.IGNORECASE)


def _text_facts(text: str) -> dict[str, int]:
    """Effort and intensity of a customer message: what the risk score reads beside sentiment."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    return {
        "chars": len(text),
        "questions": text.count("?") + text.count("\uff1f"),
        "exclaims": text.count("!") + text.count("\uff01"),
        "negations": len(_NEGATION.findall(text)),
        "unresolved": len(_UNRESOLVED.findall(text)),
        # VADER alone, as the risk weights were fitted on it; and one model pass per message
        # is enough.
        "negative_sentences": sum(1 for s in sentences if vader(s) <= -0.3),
    }


def _spans(hits: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "kind": h.kind,
            "start": h.start,
            "end": h.end,
            "text": h.text,
            "detail": getattr(h, "detail", ""),
        }
        for h in hits
    ]


# Domain cues on top of the text's sentiment. A message about a death is never read as
# positive, whatever its courtesies ("thank you so much for closing his account"); a message
# that shouts, swears, threatens or asks for a person is never read as content ("HUMAN.
# PLEASE."), however polite its words.
BEREAVED_CEILING = -0.1
FRUSTRATED_CEILING = -0.25
_FRUSTRATED_CUES = frozenset(FRUSTRATION_KINDS) - {"repeated_question"}


def mood_with_cues(score: float, kinds: Sequence[str]) -> float:
    """`score` (the text's sentiment) capped by the domain cues among the message's kinds."""
    if "bereavement" in kinds:
        score = min(score, BEREAVED_CEILING)
    if not _FRUSTRATED_CUES.isdisjoint(kinds):
        score = min(score, FRUSTRATED_CEILING)
    return score


def message_analyze(
    turn: Turn, *, earlier_customer_texts: Sequence[str], earlier_ai_texts: Sequence[str]
) -> MessageFacts:
    """The signals one event carries. Depends only on the event and the texts before it."""
    if turn.type == "message" and turn.role == "customer":
        hits = [
            *frustration_hits(turn.text, earlier_customer_texts=earlier_customer_texts),
            *topic_hits(turn.text),
            *injection_hits(turn.text),
        ]
        kinds = sorted({h.kind for h in hits})
        mood = mood_with_cues(sentiment(turn.text), kinds)
        return MessageFacts(
            turn.seq, "customer", mood, kinds, _spans(hits), _text_facts(turn.text)
        )
    if turn.type == "message" and turn.role == "ai":
        hit = loop_hit(turn.text, earlier_ai_texts)
        facts = {"apology": 1} if _APOLOGY.search(turn.text) else {}
        if hit is None:
            return MessageFacts(turn.seq, "ai", None, [], [], facts)
        return MessageFacts(turn.seq, "ai", None, ["ai_loop"], _spans([hit]), facts)
    if turn.type == "ai_signal":
        facts: dict[str, Any] = {}
        kinds = []
        if turn.confidence is not None:
            facts["confidence"] = turn.confidence
            if turn.confidence < LOW_CONFIDENCE:
                kinds.append("low_confidence")
        if turn.topic:
            facts["topic"] = turn.topic
        return MessageFacts(turn.seq, "ai", None, kinds, [], facts)
    if turn.type == "tool_call" and turn.tool_status == "denied":
        return MessageFacts(
            turn.seq, "ai", None, ["policy_denied"], [], {"tool": turn.tool, "args": turn.tool_args}
        )
    return MessageFacts(turn.seq, turn.role, None, [], [])


def conversation_messages(turns: Sequence[Turn]) -> list[MessageFacts]:
    """message_analyze over a whole conversation, in order."""
    customer_texts: list[str] = []
    ai_texts: list[str] = []
    facts = []
    for turn in turns:
        facts.append(
            message_analyze(turn, earlier_customer_texts=customer_texts, earlier_ai_texts=ai_texts)
        )
        if turn.type == "message" and turn.role == "customer":
            customer_texts.append(turn.text)
        elif turn.type == "message" and turn.role == "ai":
            ai_texts.append(turn.text)
    return facts


def _recency_weighted(values: Sequence[float]) -> float:
    if not values:
        return 0.0
    weights = [0.5 ** ((len(values) - 1 - i) / SENTIMENT_HALF_LIFE) for i in range(len(values))]
    return sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)


def _slope(values: Sequence[float]) -> float:
    window = list(values[-TREND_WINDOW:])
    n = len(window)
    if n < 2:
        return 0.0
    mean_x = (n - 1) / 2
    mean_y = sum(window) / n
    num = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(window))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return num / den


# The risk score (docs/escalation.md): a logistic model over conversation-level features,
# fitted on STC-3 dev (bench/calibrate_risk.py reproduces the fit). It estimates the chance the
# customer ends the conversation dissatisfied.
RISK_WEIGHTS: dict[str, float] = {
    "bias": -5.22,
    "negative_now": 0.05,
    "negative_min": 0.25,
    "negative_mean": 0.04,
    "frustration": 0.44,
    "threats": 0.10,
    "asked_for_human": 0.02,
    "sensitive_topic": 0.14,
    "ai_trouble": 0.02,
    "customer_turns": 0.17,
    "worsening": 0.01,
    "effort": 0.39,
    "questions": 0.58,
    "exclaims": 0.26,
    "negations": 0.36,
    "unresolved": 0.25,
    "negative_sentences": 0.45,
    "ai_apologies": 0.35,
    "customer_last": 0.49,
}


def _total(messages: Sequence[MessageFacts], role: str, name: str) -> int:
    return sum(int(m.facts.get(name, 0)) for m in messages if m.role == role)


def risk_features(
    *,
    trajectory: Sequence[float],
    counts: dict[str, int],
    customer_turns: int,
    topic: str,
    messages: Sequence[MessageFacts] = (),
    last_role: str = "",
) -> dict[str, float]:
    now = _recency_weighted(trajectory)
    customer = [m for m in messages if m.role == "customer"]
    return {
        "negative_now": max(0.0, -now),
        "negative_min": max(0.0, -min(trajectory)) if trajectory else 0.0,
        "negative_mean": max(0.0, -sum(trajectory) / len(trajectory)) if trajectory else 0.0,
        "frustration": math.log1p(sum(counts.get(k, 0) for k in FRUSTRATION_KINDS)),
        "threats": math.log1p(sum(counts.get(k, 0) for k in THREAT_KINDS)),
        "asked_for_human": 1.0 if counts.get("customer_requested_human") else 0.0,
        "sensitive_topic": 1.0 if topic in SENSITIVE_TOPICS else 0.0,
        "ai_trouble": math.log1p(
            counts.get("low_confidence", 0)
            + counts.get("policy_denied", 0)
            + counts.get("ai_loop", 0)
        ),
        "customer_turns": math.log1p(customer_turns),
        "worsening": max(0.0, -_slope(trajectory)),
        "effort": math.log1p(_total(customer, "customer", "chars") / 100),
        "questions": math.log1p(_total(customer, "customer", "questions")),
        "exclaims": math.log1p(_total(customer, "customer", "exclaims")),
        "negations": math.log1p(_total(customer, "customer", "negations")),
        "unresolved": math.log1p(_total(customer, "customer", "unresolved")),
        "negative_sentences": math.log1p(_total(customer, "customer", "negative_sentences")),
        "ai_apologies": math.log1p(_total(messages, "ai", "apology")),
        "customer_last": 1.0 if last_role == "customer" else 0.0,
    }


def risk_score(features: dict[str, float], weights: dict[str, float] | None = None) -> float:
    weights = weights or RISK_WEIGHTS
    z = weights["bias"] + sum(weights.get(name, 0.0) * value for name, value in features.items())
    return 1 / (1 + math.exp(-z))


TOPIC_KEYWORDS: list[tuple[str, re.Pattern[str]]] = [
    (topic, re.compile(pattern, re.IGNORECASE))
    for topic, pattern in [
        ("cancellation", r"\bcancel\w*"),
        ("return", r"\breturn\w*|\bsend (it|them) back"),
        ("exchange", r"\bexchang\w*|\bswap\b|\bdifferent size\b"),
        ("refund", r"\brefund\w*|\bmoney back\b|\bcharged twice\b|\bdouble charge"),
        ("shipping", r"\btrack\w*|\bdeliver\w*|\bshipp\w*|\barriv\w*|\bpackage\b|\bparcel\b"),
        ("billing", r"\bbill\w*|\bcharge\w*|\binvoice\b|\bpayment\b|\bcard\b"),
        ("account", r"\baccount\b|\bpassword\b|\blog ?in\b|\bsign ?in\b|\baddress\b"),
        ("product_question", r"\bsize\b|\bfit\b|\bcompatib\w*|\bwaterproof\b|\bspec\w*"),
    ]
]


def _intent_topic(texts: Sequence[str]) -> str:
    scores: Counter[str] = Counter()
    for text in texts:
        for topic, pattern in TOPIC_KEYWORDS:
            scores[topic] += len(pattern.findall(text))
    if not scores or scores.most_common(1)[0][1] == 0:
        return "other"
    return scores.most_common(1)[0][0]


def state_compute(turns: Sequence[Turn], messages: Sequence[MessageFacts]) -> StateFacts:
    """Fold per-message facts into the conversation state and its risk score."""
    trajectory = [m.sentiment for m in messages if m.role == "customer" and m.sentiment is not None]
    counts: Counter[str] = Counter()
    for m in messages:
        counts.update(m.kinds)
    sensitive = [k for k in SENSITIVE_TOPICS if counts.get(k)]
    platform_topic = next((t.topic for t in reversed(turns) if t.topic), "")
    if sensitive:
        topic = max(sensitive, key=lambda k: counts[k])
    elif platform_topic:
        topic = platform_topic
    else:
        topic = _intent_topic(
            [t.text for t in turns if t.role == "customer" and t.type == "message"]
        )
    customer_turns = len(trajectory)
    spoken = [t for t in turns if t.type == "message"]
    features = risk_features(
        trajectory=trajectory,
        counts=dict(counts),
        customer_turns=customer_turns,
        topic=topic,
        messages=messages,
        last_role=spoken[-1].role if spoken else "",
    )
    return StateFacts(
        sentiment=round(_recency_weighted(trajectory), 4),
        trajectory=[round(v, 4) for v in trajectory],
        trend=round(_slope(trajectory), 4),
        risk=round(risk_score(features), 4),
        topic=topic,
        counts=dict(counts),
        customer_turns=customer_turns,
        turns=sum(1 for t in turns if t.type == "message"),
    )
