"""Sensitive topics in one customer message: bereavement, legal, injury and safety, fraud,
accessibility and privacy. Each goes to a specialist team, so the patterns favour precision:
an everyday word that is only sometimes sensitive ("my phone died", "I don't recall", "my
account was disabled", "sick of waiting") needs the context that makes it so.

The topics and their patterns are data, in lexicons/topics.json.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from escalation.signals.base import Hit, fold, hits_from, merge_overlaps
from escalation.signals.lexicon import lexicon, pattern_names, regex

_LEXICON = lexicon("topics")
_NAMES = pattern_names(_LEXICON)

# The sensitive topics, most urgent first. This is the one list of them: import it from here.
TOPIC_KINDS: tuple[str, ...] = tuple(_LEXICON["kinds"])

_COMPILED: dict[str, tuple[tuple[re.Pattern[str], float], ...]] = {
    kind: tuple(
        (re.compile(regex(entry["pattern"], _NAMES)), float(entry["weight"])) for entry in entries
    )
    for kind, entries in _LEXICON["patterns"].items()
}
if set(_COMPILED) != set(TOPIC_KINDS):
    # A topic with patterns but not listed would never win topic_of; one listed without
    # patterns would never fire. Either is a mistake in the data.
    raise ValueError("topics.json: the kinds with patterns must be exactly the listed kinds")


def topic_hits(text: str) -> list[Hit]:
    """Sensitive topics in one customer message, each with its evidence span."""
    if not text or not text.strip():
        return []
    folded = fold(text)
    hits: list[Hit] = []
    for kind, patterns in _COMPILED.items():
        for pattern, weight in patterns:
            hits += hits_from(pattern, folded, text, kind, weight=weight)
    return merge_overlaps(hits, text)


def topic_of(text_or_hits: str | Sequence[Hit]) -> str | None:
    """The dominant sensitive topic of a text (or of hits already found): the topic with the
    most evidence by weight. Ties go to the topic listed first in TOPIC_KINDS, which puts
    the most urgent first (someone hurt, then money taken)."""
    hits = topic_hits(text_or_hits) if isinstance(text_or_hits, str) else text_or_hits
    totals: dict[str, float] = defaultdict(float)
    for hit in hits:
        if hit.kind in TOPIC_KINDS:
            totals[hit.kind] += hit.weight
    if not totals:
        return None
    return max(TOPIC_KINDS, key=lambda kind: (totals.get(kind, 0.0), -TOPIC_KINDS.index(kind)))
