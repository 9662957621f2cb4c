"""Frustration markers in one customer message: asking for a person, repeating a question,
shouting, swearing, and threats to cancel, charge back, sue or post a review.

Asking for a person is read from a canonical word stream rather than the raw text: each word
is lower-cased, contractions and chat shorthand are expanded ("wanna" -> "want to") and a
misspelt key word ("agnet", "represntative", "somone") is mapped to the word it is close to.
The patterns then need a request (a verb of talking, transferring or wanting, or a question
like "is there a real person") next to a word for a person, so that a mere mention ("your agent
told me", "as a human being") does not fire.

The word lists and patterns are data, in lexicons/frustration.json.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from difflib import SequenceMatcher
from functools import lru_cache

from escalation.signals.base import Hit, fold, hits_from, merge_overlaps, spans
from escalation.signals.lexicon import lexicon, pattern_names, regex

_LEXICON = lexicon("frustration")
_NAMES = pattern_names(_LEXICON)

# --- the canonical word stream -------------------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.!?;]+|\n")

_CANON: dict[str, str] = _LEXICON["canon"]
# Key words a misspelling is mapped back to (see _closest), and real words that stay as they are.
_FUZZY_VOCAB: tuple[str, ...] = tuple(_LEXICON["fuzzy_vocab"])
_NOT_MISSPELT = frozenset(_LEXICON["not_misspelt"])


def _within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance of a and b is at most 1."""
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) <= 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    # b is one longer than a: b with one letter removed must equal a.
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _within_two_edits(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 2:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > 2:
            return False
        prev = cur
    return prev[-1] <= 2


_DOUBLED = re.compile(r"(.)\1")


@lru_cache(maxsize=8192)
def _closest(token: str) -> str:
    """The canonical form of one lower-cased word."""
    if token in _CANON:
        return _CANON[token]
    if len(token) < 4 or token in _NOT_MISSPELT or not token.isalpha():
        return token
    for word in _FUZZY_VOCAB:
        if token == word:
            return token
    undoubled = _DOUBLED.sub(r"\1", token)
    for word in _FUZZY_VOCAB:
        if token[0] != word[0] and token[:2] != word[1::-1]:
            continue
        if undoubled == word:
            return word
        if word == "assistant" and not token.endswith("t"):
            # "assistance" is the commoner word; its misspellings must not become a person.
            continue
        if len(word) == 4 or len(token) == 4:
            # Short words: only a swapped pair ("tlak"), or a long word missing one letter.
            if len(token) == len(word) == 4 and sorted(token) == sorted(word):
                if _within_one_edit(token, word):
                    return word
            elif len(token) == 4 and len(word) == 5 and _within_one_edit(token, word):
                return word
            continue
        if _within_one_edit(token, word):
            return word
        if len(word) >= 9 and len(token) >= 8 and _within_two_edits(token, word):
            return word
    return token


class _Stream:
    """Canonical words of a text, joined by spaces, with a map back to the original offsets.
    Sentence punctuation becomes "|" so that patterns do not run across sentences."""

    __slots__ = ("ends", "starts", "stream_starts", "text", "words")

    def __init__(self, folded: str) -> None:
        parts: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.stream_starts: list[int] = []
        self.words: list[str] = []
        pos = 0
        for m in _TOKEN.finditer(folded):
            raw = m.group()
            canon = "|" if not raw[0].isalnum() else _closest(raw)
            for word in canon.split(" "):
                parts.append(word)
                self.words.append(word)
                self.starts.append(m.start())
                self.ends.append(m.end())
                self.stream_starts.append(pos)
                pos += len(word) + 1
        self.text = " ".join(parts)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original character span of the words covering stream[start:end]."""
        first = bisect_right(self.stream_starts, start) - 1
        last = bisect_left(self.stream_starts, end) - 1
        return self.starts[first], self.ends[last]

    def word_index(self, stream_pos: int) -> int:
        return bisect_right(self.stream_starts, stream_pos) - 1


_HUMAN_REQUEST = re.compile(
    "|".join(regex(entry["pattern"], _NAMES) for entry in _LEXICON["human_request"])
)
# A whole sentence that is just a call for a person: "Agent!", "human please", "REPRESENTATIVE".
_CALL_FILLER = frozenset(_LEXICON["call_filler"])
_CALL_NOUNS = frozenset(_LEXICON["call_nouns"])
# "I do not want to talk to a person" declines; "I do not know how to talk to a person" asks.
_NEGATED = re.compile(regex(_LEXICON["negated"], _NAMES))
# Every request names a person, a team or a bot, or asks to be transferred or escalated; a
# message with none of these words is skipped before its word stream is built.
_KEYWORDS = frozenset(_LEXICON["keywords"])


def _requests_human(folded: str, original: str) -> list[Hit]:
    if _KEYWORDS.isdisjoint([_closest(token) for token in _TOKEN.findall(folded)]):
        return []
    stream = _Stream(folded)
    hits = []
    for match_start, match_end in spans(_HUMAN_REQUEST, stream.text):
        first = stream.word_index(match_start)
        before = stream.words[max(0, first - 6) : first]
        if "|" in before:
            before = before[len(before) - before[::-1].index("|") :]
        if (
            before
            and _NEGATED.search(" ".join(before) + " ")
            and not stream.text[match_start:match_end].startswith(
                ("not ", "no ", "without ", "instead ", "rather ", "than ", "stop ")
            )
        ):
            continue
        start, end = stream.span(match_start, match_end)
        hits.append(Hit("customer_requested_human", start, end, original[start:end]))
    # Sentences that are only a call for a person.
    sentence: list[int] = []
    for i, word in enumerate([*stream.words, "|"]):
        if word != "|":
            sentence.append(i)
            continue
        words = [stream.words[j] for j in sentence]
        if (
            0 < len(words) <= 6
            and any(w in _CALL_NOUNS for w in words)
            and all(w in _CALL_FILLER or w in _CALL_NOUNS for w in words)
        ):
            start, end = stream.starts[sentence[0]], stream.ends[sentence[-1]]
            hits.append(Hit("customer_requested_human", start, end, original[start:end]))
        sentence = []
    return hits


# --- repeated question -------------------------------------------------------------------

_REPEAT_PHRASES = re.compile(regex(_LEXICON["repeat_phrases"], _NAMES))
_WORD = re.compile(r"[a-z0-9]+")
_NOT_WORDS = re.compile(r"https?://\S+|www\.\S+|[@#]\w+")
# Below this many words a repeat ("thanks", "yes please", "hello?") says nothing.
REPEAT_MIN_WORDS = 5
# Word-level similarity (difflib's ratio) at which a message counts as a repeat. Restating a
# question usually keeps most of its words in order ("where is my refund for order 123" ->
# "where is my refund for order 123???" or "I still have not got my refund for order 123");
# 0.8 tolerates a word or two added or changed per five, while two different questions that
# share a template ("where is my order" / "where is my refund") score under it once they are
# five words or more.
REPEAT_SIMILARITY = 0.8
# An earlier message of this many words quoted wholly inside the new one also counts.
REPEAT_CONTAINED = 0.9


def _words(text: str) -> list[str]:
    return _WORD.findall(_NOT_WORDS.sub(" ", fold(text)))


def repeat_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """How nearly word list `a` repeats word list `b`: the larger of difflib's ratio and the
    share of the shorter one found, in order, inside the longer one."""
    if not a or not b:
        return 0.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    shorter = min(len(a), len(b))
    matched = sum(block.size for block in matcher.get_matching_blocks())
    ratio = 2.0 * matched / (len(a) + len(b))
    contained = matched / shorter if shorter >= REPEAT_MIN_WORDS + 1 else 0.0
    return max(ratio, contained if contained >= REPEAT_CONTAINED else 0.0)


def _repeats(text: str, earlier: Sequence[str]) -> Hit | None:
    words = _words(text)
    if len(words) < REPEAT_MIN_WORDS:
        return None
    best = 0.0
    for previous in earlier:
        other = _words(previous)
        if len(other) < REPEAT_MIN_WORDS:
            continue
        best = max(best, repeat_similarity(words, other))
        if best >= 0.999:
            break
    if best < REPEAT_SIMILARITY:
        return None
    stripped = text.strip()
    start = text.index(stripped) if stripped else 0
    return Hit("repeated_question", start, start + len(stripped), stripped, round(best, 3))


# --- shouting, swearing and threats --------------------------------------------------------

# Three or more all-caps words in a row (a one-letter "I" or "A" may sit between them).
_SEP = r"[,.!?:;\-\"]*\s+[,.!?:;\-\"]*"
_CAPS_RUN = re.compile(
    rf"(?<![\w.@/])[A-Z][A-Z']*[A-Z]\b(?:{_SEP}(?:[AI]{_SEP})?[A-Z][A-Z']*[A-Z]\b(?![.@/]\w)){{2,}}"
)
# Names and product titles are also written in capitals; shouting has the little words too.
_FUNCTION_WORDS = frozenset(_LEXICON["function_words"])
_ACRONYMS = frozenset(_LEXICON["acronyms"])

_PROFANITY_STRONG = re.compile(regex(_LEXICON["profanity"], _NAMES))
# Mild words count half.
_MILD = tuple(_LEXICON["mild"])

_THREATS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(regex(pattern, _NAMES))) for kind, pattern in _LEXICON["threats"].items()
)


def frustration_hits(text: str, *, earlier_customer_texts: Sequence[str] = ()) -> list[Hit]:
    """Frustration markers in one customer message, each with its evidence span.

    `earlier_customer_texts` are the customer's earlier messages in the conversation; a message
    that nearly repeats one of them is a `repeated_question`."""
    if not text or not text.strip():
        return []
    folded = fold(text)
    hits = _requests_human(folded, text)

    hits += hits_from(_REPEAT_PHRASES, folded, text, "repeated_question", weight=0.8)
    if earlier_customer_texts:
        repeat = _repeats(text, earlier_customer_texts)
        if repeat is not None:
            hits.append(repeat)

    for m in _CAPS_RUN.finditer(text):
        words = re.findall(r"[A-Z][A-Z']*[A-Z]|\b[AI]\b", m.group())
        shouted = [w for w in words if w not in _ACRONYMS]
        if sum(len(w) >= 3 for w in shouted) >= 2 and (
            len(words) >= 4 or any(w in _FUNCTION_WORDS for w in words)
        ):
            hits.append(Hit("all_caps", m.start(), m.end(), m.group()))

    for m in _PROFANITY_STRONG.finditer(folded):
        weight = 0.5 if m.group().startswith(_MILD) else 1.0
        hits.append(Hit("profanity", m.start(), m.end(), text[m.start() : m.end()], weight))

    for kind, pattern in _THREATS:
        hits += hits_from(pattern, folded, text, kind)
    return merge_overlaps(hits, text)
