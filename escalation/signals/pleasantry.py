"""Closing pleasantries: a customer message that only thanks, acknowledges, praises or says
goodbye ("Appreciate it. Finally a real answer.", "thanks!", "ok great"). After a person
resolved a case such a message needs no new case. Anything with a question, a request, a
problem or a turn ("thanks, but ...") is not one. The word lists are data, in
lexicons/pleasantry.json."""

from __future__ import annotations

import re

from escalation.signals.base import fold
from escalation.signals.lexicon import alternation, lexicon
from escalation.signals.sentiment import sentiment

_LEXICON = lexicon("pleasantry")
_WORDS = _LEXICON["words"]
MAX_OTHER_WORDS = int(_LEXICON["max_other_words"])


def _phrases(words: list[str], *, stems: bool = False) -> re.Pattern[str]:
    # Whole words only: "ok" is not in "book", "ta" not in "tab". Emoji and smileys have no
    # word boundaries of their own, so the edges are "not a letter or digit".
    tail = r"\w{0,3}" if stems else ""
    return re.compile(
        r"(?<![\w])" + alternation([re.escape(w) for w in words]) + tail + r"(?![\w])"
    )


_CLOSING = _phrases(_WORDS["closing"])
_ASKS = _phrases(_WORDS["asks"], stems=True)
_FILLER = frozenset(_WORDS["filler"])
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]", re.UNICODE)


def is_pleasantry(text: str) -> bool:
    """Whether `text` only closes the conversation: no question and nothing asked, at least
    one closing phrase, a few other words at most, and not negative."""
    folded = fold(text or "").strip()
    if not folded or "?" in folded or "\uff1f" in folded:
        return False
    if _ASKS.search(folded) or not _CLOSING.search(folded):
        return False
    rest = _CLOSING.sub(" ", folded)
    others = [
        token
        for token in _TOKEN.findall(rest)
        if token not in _FILLER and any(ch.isalnum() for ch in token)
    ]
    if len(others) > MAX_OTHER_WORDS:
        return False
    # Sarcasm and complaints dressed as thanks read negative.
    return sentiment(text) > -0.3
