"""What the words of a contact say about its handoff and its answers (docs/metrics.md):
whether an AI message is a substantive answer, whether the customer had to repeat a fact
after the handoff, and whether the first person's message was a cold greeting.

Pure functions over texts, built on the escalation engine's entity extractor and its
repeated-question similarity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from escalation.entities import extract_entities
from escalation.signals.base import fold
from escalation.signals.frustration import repeat_similarity
from escalation.signals.pleasantry import is_pleasantry

# --- substantive answers -------------------------------------------------------------------

# An AI message says something once its greetings, handoff offers, apologies and offers of
# more help are taken out and this many words are left ("Your order #W1234567 shipped on
# Monday with UPS" has 8; "Sorry, I can't help with that." has none).
MIN_SUBSTANTIVE_WORDS = 6

_BOILERPLATE = re.compile(
    r"^(?:hi|hello|hey|good (?:morning|afternoon|evening)|welcome|greetings)\b"
    r"|\b(?:how (?:can|may) i (?:help|assist)|what can i do for you|anything else)\b"
    r"|\b(?:sorry|apologi[sz]e|apologies|unfortunately|regret)\b"
    r"|\b(?:connect(?:ing)? you|transfer(?:ring)? you|hand(?:ing)? (?:you|this) (?:over|off)"
    r"|pass(?:ing)? (?:you|this) (?:on|to)|(?:a|our) (?:human|person|specialist|colleague|"
    r"agent|team member|representative)|someone (?:from|on) our team)\b"
    r"|\b(?:thank(?:s| you) for (?:contacting|reaching out|your patience|waiting))\b"
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_WORDS = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def substantive_text(text: str) -> bool:
    """Whether an AI message holds an answer: enough words outside its boilerplate sentences
    (greetings, handoff offers, apologies, offers of more help)."""
    words = 0
    for sentence in _SENTENCE.findall(fold(text or "")):
        if _BOILERPLATE.search(sentence.strip()):
            continue
        words += len(_WORDS.findall(sentence))
    return words >= MIN_SUBSTANTIVE_WORDS


# --- the words a text is about -------------------------------------------------------------

# Common English words that say nothing about the problem.
_STOPWORD_TEXT = """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have
    haven't having he her here hers herself him himself his how i i'd i'll i'm i've if in into
    is isn't it it's its itself just let's me more most my myself no nor not now of off on once
    only or other ought our ours ourselves out over own same she should shouldn't so some such
    than that that's the their theirs them themselves then there there's these they they're
    this those through to too under until up very was wasn't we we're we've were weren't what
    what's when where which while who whom why will with won't would wouldn't you you're your
    yours yourself hi hello hey thanks thank please ok okay yes yeah sure also still already
    said told asked like get got one really us im ive dont cant wont know want need help"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_CONTENT_WORD = re.compile(r"[a-z][a-z']+")


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """The text's words that carry meaning, lightly stemmed ('arrived' and 'arrive' match)."""
    return {
        _stem(w.strip("'"))
        for w in _CONTENT_WORD.findall(fold(text or ""))
        if w.strip("'") not in _STOPWORDS and len(w) > 2
    }


# --- the repeat detector -------------------------------------------------------------------

# The facts a customer may be made to give twice. Amounts, dates and names are left out: a
# customer confirming "$20" or "yesterday" is answering a question, not restating a fact.
REPEAT_ENTITY_TYPES = frozenset({"order_id", "email", "phone", "tracking_number"})
# A problem description is a customer message of this many content words or more.
MIN_DESCRIPTION_WORDS = 4
# Two descriptions match when this share of the shorter one's content words is in the other
# (paraphrase), or when the engine's repeated-question similarity reaches its threshold
# (the same words in the same order).
DESCRIPTION_OVERLAP = 0.6
DESCRIPTION_SIMILARITY = 0.8


@dataclass(frozen=True)
class Known:
    """What the person taking over could know: the facts (type, value) in the packet or said
    by the customer before the handoff, and the customer's descriptions of the problem."""

    facts: frozenset[tuple[str, str]]
    descriptions: tuple[str, ...]
    # Every content word the customer used before the handoff, and the packet's request.
    words: frozenset[str] = frozenset()


def facts_in(text: str, *, types: Iterable[str] = REPEAT_ENTITY_TYPES) -> set[tuple[str, str]]:
    wanted = set(types)
    return {(e.type, e.value) for e in extract_entities(text or "", turn=0) if e.type in wanted}


def known_before(*, customer_texts: Sequence[str], packet: dict[str, Any]) -> Known:
    facts: set[tuple[str, str]] = set()
    for text in customer_texts:
        facts |= facts_in(text, types=REPEAT_ENTITY_TYPES | {"product"})
    for entity in packet.get("entities") or ():
        if isinstance(entity, dict) and entity.get("type") and entity.get("value"):
            facts.add((str(entity["type"]), str(entity["value"])))
    for order in packet.get("orders") or ():
        facts.add(("order_id", str(order)))
    descriptions = [t for t in customer_texts if len(content_words(t)) >= MIN_DESCRIPTION_WORDS]
    wants = (packet.get("summary") or {}).get("customer_wants")
    if isinstance(wants, str) and len(content_words(wants)) >= MIN_DESCRIPTION_WORDS:
        descriptions.append(wants)
    words: set[str] = set()
    for text in [*customer_texts, wants if isinstance(wants, str) else ""]:
        words |= content_words(text)
    return Known(facts=frozenset(facts), descriptions=tuple(descriptions), words=frozenset(words))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


def description_match(text: str, earlier: str) -> bool:
    """Whether `text` restates the problem `earlier` described, in other or the same words."""
    a, b = content_words(text), content_words(earlier)
    if len(a) < MIN_DESCRIPTION_WORDS or len(b) < MIN_DESCRIPTION_WORDS:
        return False
    if len(a & b) / min(len(a), len(b)) >= DESCRIPTION_OVERLAP:
        return True
    return repeat_similarity(_words(text), _words(earlier)) >= DESCRIPTION_SIMILARITY


def restatements(
    *, text: str, seq: int, known: Known, agent_texts: Sequence[str]
) -> list[dict[str, object]]:
    """What a customer message after the handoff restates of what was known: each fact
    ({"kind": its type, "text": its value, "seq"}), or the problem ({"kind": "description"}).
    A fact or problem the person had just named themselves ("is it order #W1234567?") is an
    answer, not a repeat; a closing thank-you is never one."""
    if is_pleasantry(text):
        return []
    named: set[tuple[str, str]] = set()
    for agent_text in agent_texts:
        named |= facts_in(agent_text)
    facts = facts_in(text)
    found: list[dict[str, object]] = [
        {"kind": kind, "text": value, "seq": seq}
        for kind, value in sorted(facts)
        if (kind, value) in known.facts and (kind, value) not in named
    ]
    # The person's own summary of the problem, confirmed, is not a repeat either; nor is the
    # same trouble with something new ("my other order #W9999999 never arrived either").
    summed_up = any(
        description_match(agent_text, earlier)
        for agent_text in agent_texts
        for earlier in known.descriptions
    )
    new_fact = any(fact not in known.facts for fact in facts)
    if (
        not summed_up
        and not new_fact
        and any(description_match(text, earlier) for earlier in known.descriptions)
    ):
        found.append({"kind": "description", "text": text.strip()[:200], "seq": seq})
    return found


# --- the first human message ----------------------------------------------------------------

# A person's first message refers to the context when it names a fact of the conversation or
# shares this many content words with what the customer said before the handoff.
CONTEXT_WORDS = 2


def refers_to_context(*, text: str, known: Known, topic: str = "") -> bool:
    """Whether a person's message shows they read the conversation: it names one of its facts
    (an order, an email, a product), or speaks of what the customer described or its topic."""
    if facts_in(text, types=REPEAT_ENTITY_TYPES | {"product"}) & known.facts:
        return True
    said = known.words | content_words(topic.replace("_", " "))
    return len(content_words(text) & said) >= CONTEXT_WORDS
