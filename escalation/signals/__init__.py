"""Signals read from single messages: sentiment, frustration markers, sensitive topics,
prompt-injection attempts and AI loops. Deterministic: lexicons and patterns, and two small
learned models (learned.py, weights in models/) in pure Python, cheap enough to run on every
message (about a millisecond on average)."""

from __future__ import annotations

from escalation.signals.base import Hit
from escalation.signals.frustration import frustration_hits
from escalation.signals.injection import injection_hits
from escalation.signals.loops import loop_hit
from escalation.signals.sentiment import sentiment
from escalation.signals.topics import TOPIC_KINDS, topic_hits, topic_of

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
INJECTION_DETAILS = (
    "override",
    "extraction",
    "role",
    "authority",
    "encoded",
    "third_party",
    "persuasion",
    "learned",
)

__all__ = [
    "FRUSTRATION_KINDS",
    "INJECTION_DETAILS",
    "TOPIC_KINDS",
    "Hit",
    "frustration_hits",
    "injection_hits",
    "loop_hit",
    "sentiment",
    "topic_hits",
    "topic_of",
]
