"""AI loops: an AI message that nearly repeats one the AI already sent in the conversation."""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from escalation.signals.base import Hit, fold

# Messages shorter than this (in words) are pleasantries ("Thanks!", "Is there anything else
# I can help with?") that an assistant rightly says more than once.
LOOP_MIN_WORDS = 10
# Word-level difflib ratio at which two AI messages count as the same message. Templated
# replies that differ only in a name, an order number or a date ("I'm sorry, I can't cancel
# order #W123 because it has shipped" / "... order #W456 ...") score around 0.9; two replies
# that share an opening but say different things ("I'm sorry to hear that. Could you give me
# your order number?" / "I'm sorry to hear that. I've issued your refund of $20.") fall well
# under 0.85. It is the same threshold the evaluation data uses for near-duplicate text.
LOOP_SIMILARITY = 0.85

_WORD = re.compile(r"[a-z]+|\d+")
_NUMBER = re.compile(r"\d+")


def _words(text: str) -> list[str]:
    # Numbers and handles change between otherwise identical template replies; fold them.
    folded = re.sub(r"[@#]\w+", " ", fold(text))
    return ["0" if _NUMBER.fullmatch(w) else w for w in _WORD.findall(folded)]


def loop_similarity(a: str, b: str) -> float:
    """Word-level similarity of two messages, from 0 to 1."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    return SequenceMatcher(None, wa, wb, autojunk=False).ratio()


def loop_hit(ai_text: str, earlier_ai_texts: Sequence[str]) -> Hit | None:
    """A Hit spanning `ai_text` when it nearly repeats one of `earlier_ai_texts`; its weight
    is the similarity."""
    words = _words(ai_text)
    if len(words) < LOOP_MIN_WORDS:
        return None
    best = 0.0
    for earlier in earlier_ai_texts:
        other = _words(earlier)
        if len(other) < LOOP_MIN_WORDS:
            continue
        matcher = SequenceMatcher(None, words, other, autojunk=False)
        if matcher.real_quick_ratio() < LOOP_SIMILARITY or matcher.quick_ratio() < LOOP_SIMILARITY:
            continue
        best = max(best, matcher.ratio())
    if best < LOOP_SIMILARITY:
        return None
    stripped = ai_text.strip()
    start = ai_text.index(stripped)
    return Hit("ai_loop", start, start + len(stripped), stripped, round(best, 3))
