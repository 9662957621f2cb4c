"""A small learned text classifier: logistic regression over hashed character and word n-grams
and a few structural features, in pure Python.

The weights are data (`models/<name>.json`), written by a training script in `bench/`
(`bench/train_injection.py`), which also measures the model by cross-validation by source. At
run time a message costs one pass over its n-grams and a dictionary lookup for each, so the
embedded default needs nothing beyond the standard library.

Structural features describe how a message is built rather than which words it uses: whether
it gives orders to the assistant, talks about its rules or prompt, frames a role-play, carries
an encoded blob, or pastes a document with instructions inside. They are meant to generalise
to attacks written by other people, where the exact phrases differ.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

# Hash space of the n-gram features. The model file lists only the buckets it learnt.
BUCKETS = 1 << 18
# Long pasted texts are read up to here; attacks say what they want well before this.
MAX_CHARS = 2000
CHAR_NGRAMS = (3, 4, 5)
MIN_DEVICES = 2

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9']+|[^\sa-z0-9']")
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})

# Each structural feature is a name and a pattern over the folded text.
_STRUCTURE: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        # Orders addressed to the assistant ("you will", "you must", "your task is").
        (
            "addressed",
            r"\byou (?:will|must|shall|are going to|have to|need to|should|are to|can now|"
            r"will now|are now|are no longer|no longer|do not need|don't need)\b|"
            r"\byour (?:new )?(?:task|job|goal|purpose|role|mission|objective) (?:is|will be)\b|"
            r"\bfrom now on\b|\bstarting now\b|\bbegin(?:ning)? (?:now|immediately)\b",
        ),
        # The assistant's own rules, prompt or system.
        (
            "rules",
            r"\b(?:your|the|previous|prior|above|earlier|initial|original|system|all|any|"
            r"these|those|its|openai'?s?|content|safety|ethical|moral)\s+"
            r"(?:instructions?|prompts?|rules?|guidelines?|directives?|programming|polic(?:y|ies)|"
            r"restrictions?|filters?|constraints?|limitations?|settings?|configuration|"
            r"training|principles?|boundaries|safeguards?)\b|\bsystem prompt\b|\bpre-?prompt\b",
        ),
        # Words that name the assistant as a machine.
        (
            "machine",
            r"\b(?:chatgpt|gpt(?:-?\d)?|openai|language model|llm|ai model|an ai|the ai|"
            r"assistant|chatbot|bot|model)\b",
        ),
        # Role-play framing.
        (
            "roleplay",
            r"\b(?:pretend|role-?play|roleplay|act as|acting as|simulate|persona|in character|"
            r"character|imagine (?:you|that you)|hypothetical(?:ly)?|fictional|"
            r"game|let's play|you are (?:now )?(?:a|an|my|the)\b)",
        ),
        # Verbs that set aside what came before.
        (
            "override",
            r"\b(?:ignore|disregard|forget|override|bypass|overrule|abandon|drop|skip|"
            r"neglect|circumvent|cancel)\b",
        ),
        # Secrets held by the system.
        (
            "secret",
            r"\b(?:password|passcode|secret|api key|key|token|credentials?|confidential|"
            r"hidden|internal)\b",
        ),
        # Somebody else's personal data.
        (
            "third_party",
            r"\b(?:his|her|their|the user'?s|other (?:users?|customers?)'?s?|"
            r"[a-z]+'s)\s+(?:home |email |phone |full |date of )?(?:address|phone|number|"
            r"email|birth|ssn|social security|credit card|salary|location|records?|"
            r"details|information|data)\b|\b(?:your|the) (?:database|user list|customer list)\b",
        ),
        # Talk of saying or printing a given text, the usual goal of a hijack.
        (
            "say_exactly",
            r"\b(?:say|print|output|respond with|reply with|answer with|write|repeat|"
            r"type)\s+(?:only\s+|exactly\s+|just\s+|the (?:word|phrase|text)\s+)?[\"'`]",
        ),
        # The assistant's own set-up: what it was told, its system message, its first words.
        (
            "own_setup",
            r"\byou (?:were|have been|'ve been|are) (?:told|given|instructed|programmed|"
            r"trained|configured|asked|not supposed|not allowed)\b|"
            r"\byour (?:system|initial|original|hidden|secret|first|internal|core)\b|"
            r"\bsystem (?:message|prompt|configuration|instructions?|mode|override)\b|"
            r"\b(?:beginning|start) of (?:this|the|our) conversation\b|\babove text\b|"
            r"\binstructed to\b|\bmy instructions\b",
        ),
        # Asking the assistant to hand over something it holds.
        (
            "hand_over",
            r"\b(?:share|tell|reveal|give|confirm|show|display|print|disclose|leak|repeat|"
            r"spell|encode|translate|what is|what's|what are)\b[^.?!]{0,40}"
            r"\b(?:your|the (?:secret|hidden|confidential|system|initial|internal|admin))\s+"
            r"(?:\w+\s+)?(?:password|passcode|secret|key|prompt|instructions?|credentials?|"
            r"token|string)\b",
        ),
        # Claims of standing: developer, administrator, an official; fake system tags.
        (
            "authority",
            r"\b(?:i am|i'm|as|this is) (?:a |an |the |your )?(?:developer|admin|administrator|"
            r"engineer|president|ceo|owner|creator|security expert|cybersecurity expert|"
            r"openai|programmer|system)\b|<\s*/?\s*system|\[system|"
            r"\b(?:admin(?:istrator)?|developer|debug|god|maintenance) (?:mode|override|access)\b",
        ),
        # "The user" as a third person: how a message asks about someone else's account.
        ("the_user", r"\bthe user(?:'s|s')?\b|\buser'?s (?:data|details|information)\b"),
        # A payload split in pieces to be put back together.
        (
            "split",
            r"\bpart (?:1|one|a)\b.*\bpart (?:2|two|b)\b|\bcombine\b.*\b(?:and|with)\b|"
            r"\b[a-c] (?:is|=) [\"']",
        ),
        # A pasted document: several lines, or markup.
        ("document", r"\n.*\n.*\n|<[a-z/][^>]{0,40}>|```|\|.*\|.*\||\bsubject:|\bdear\b"),
        # Long runs of letters and digits with no spaces, as encodings look.
        ("blob", r"[a-z0-9+/=]{24,}|(?:[01]{8}\s){4,}|(?:[.-]{1,5}\s){8,}"),
    )
)


@dataclass(frozen=True)
class Model:
    name: str
    bias: float
    weights: dict[int, float]
    structure: dict[str, float]
    threshold: float


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", text[:MAX_CHARS].translate(_FOLD).lower()).strip()


def _bucket(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) & (BUCKETS - 1)


def structure(text: str) -> dict[str, float]:
    """The structural features of `text` (raw, not normalised), each 0 or 1, and two that
    combine them: orders to the assistant together with its rules, and a pasted document that
    also gives orders."""
    folded = text[:MAX_CHARS].translate(_FOLD).lower()
    found = {name: 1.0 for name, pattern in _STRUCTURE if pattern.search(folded)}
    if "addressed" in found and ("rules" in found or "override" in found):
        found["orders_and_rules"] = 1.0
    if "document" in found and ("addressed" in found or "override" in found):
        found["document_with_orders"] = 1.0
    if len(found) >= 3:
        found["many_devices"] = 1.0
    return found


@lru_cache(maxsize=64)
def ngram_buckets(text: str) -> frozenset[int]:
    """Hashed character 3-5-grams (word boundaries marked) and word 1-2-grams of `text`.
    Cached for the last few texts: sentiment and injection read the same message."""
    norm = _normalise(text)
    if not norm:
        return frozenset()
    padded = f" {norm} "
    found: set[int] = set()
    for n in CHAR_NGRAMS:
        for i in range(len(padded) - n + 1):
            found.add(_bucket(padded[i : i + n]))
    words = _WORD.findall(norm)
    for i, word in enumerate(words):
        found.add(_bucket("w:" + word))
        if i:
            found.add(_bucket(f"w:{words[i - 1]} {word}"))
    return frozenset(found)


def model_from_dict(data: dict) -> Model:
    return Model(
        name=data["name"],
        bias=float(data["bias"]),
        weights={int(k): float(v) for k, v in data["weights"].items()},
        structure={k: float(v) for k, v in data["structure"].items()},
        threshold=float(data["threshold"]),
    )


@cache
def model(name: str) -> Model:
    """`models/<name>.json`, read once per process."""
    source = resources.files("escalation.signals").joinpath("models", f"{name}.json")
    return model_from_dict(json.loads(source.read_text(encoding="utf-8")))


def linear(m: Model, text: str) -> float:
    """The model's linear score of `text`. The n-gram part is scaled by the square root of the
    number of n-grams, so that long and short texts score alike."""
    buckets = ngram_buckets(text)
    if not buckets:
        return m.bias
    scale = 1 / math.sqrt(len(buckets))
    z = m.bias + scale * sum(m.weights.get(b, 0.0) for b in buckets)
    if m.structure:
        z += sum(m.structure.get(name, 0.0) for name in structure(text))
    return z


def flags(m: Model, text: str) -> bool:
    """Whether a classifier flags `text`: its probability reaches the threshold and the text
    uses at least MIN_DEVICES structural devices. One device word alone ("password", "act as")
    is common in honest messages, and the n-grams of a few hundred attacks learn such words
    too eagerly, so, as with the rules' weak cues, one is never enough."""
    return len(structure(text)) >= MIN_DEVICES and probability(m, text) >= m.threshold


def probability(m: Model, text: str) -> float:
    """The model's probability that `text` is of its class (for a classifier)."""
    if not text.strip():
        return 0.0
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, linear(m, text)))))
