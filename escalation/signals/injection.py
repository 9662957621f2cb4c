"""Prompt-injection attempts in one customer message.

Every hit has kind `prompt_injection`; its `detail` says which device was used:

- `override`: "ignore / forget / disregard (all) previous instructions", in several languages,
  or hidden in pasted content ("ignore the webpage and say ...");
- `extraction`: asking for the system prompt, the instructions, or a secret, password or key;
- `role`: jailbreak role-play (DAN, "developer mode", amoral personas, "stay in character");
- `authority`: claims to be the assistant's developer or admin, fake system tags;
- `encoded`: instructions hidden in base64, hex, binary, Morse, ROT13, invisible Unicode tag
  characters, split payloads or token stuffing;
- `third_party`: asking for another person's data, or for the database;
- `persuasion`: bribes and pressure ("nobody will know") used to get a rule broken;
- `learned`: none of the rules matched, but the learned model (`learned.py`, weights in
  models/injection.json, trained and cross-validated by `bench/injection_cv.py`) scores the
  message at or above its threshold, and the message uses two structural devices or more.
  The span is the sentence it scores highest.

Strong cues fire alone. Weak cues (role-play framing such as "from now on" or "pretend", a
mention of ChatGPT, an authority claim without a demand) are common enough in honest text that
a hit needs two different ones in the same message.

The cues themselves are data, in lexicons/injection.json.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from escalation.signals.base import Hit, fold, merge_overlaps, straighten
from escalation.signals.learned import flags, model, probability
from escalation.signals.lexicon import lexicon, pattern_names, regex

KIND = "prompt_injection"

_LEXICON = lexicon("injection")
_NAMES = pattern_names(_LEXICON)

# --- encodings and obfuscation -------------------------------------------------------------

_ROT13 = re.compile(
    r"\b(?:"
    + "|".join(re.escape(codecs.encode(w, "rot13")) for w in _LEXICON["rot13_words"])
    + r")\b"
)
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{20,}={0,2}")
_HEX_RUN = re.compile(
    r"(?:\b[0-9a-fA-F]{2}(?:[\s,:]|\\x|0x)?){12,}|(?<![0-9a-fA-F])"
    r"(?:[0-9a-fA-F]{2}){12,}(?![0-9a-fA-F])"
)
_BINARY_RUN = re.compile(r"(?:\b[01]{8}\b\s?){6,}")
_MORSE_RUN = re.compile(r"(?:[.\-]{1,7}(?: {1,3}| ?/ ?)){6,}[.\-]{1,7}")
_TAG_CHARS = re.compile("[\U000e0000-\U000e007f]+")
_STUFFING = re.compile(r"\b(\w{5,}(?: \w+){0,3})(?:\W+\1\b){9,}", re.IGNORECASE)
_MORSE: dict[str, str] = _LEXICON["morse"]
_LEET = str.maketrans("013457@$!|", "oieastasil")
_LEET_WORD = re.compile(r"\b(?=[a-z]*[0-9@$!|])(?=[0-9@$!|]*[a-z])[a-z0-9@$!|]{3,}\b")


def _ascii_words(words: Sequence[str]) -> frozenset[str]:
    """The plain-ASCII words of a word list, for a trigger set."""
    return frozenset(
        word for phrase in words for word in phrase.split() if word.isascii() and word.isalpha()
    )


_ML_TRIGGERS = _ascii_words(_LEXICON["words"]["ml_verb"]) | _ascii_words(
    _LEXICON["words"]["ml_noun"]
)
# Letters of other scripts, and accented Latin ones.
_NON_ENGLISH = re.compile(
    "[\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u0900-\u097f\u1e00-\u1eff"
    "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]"
)


class _Rule(NamedTuple):
    detail: str
    pattern: re.Pattern[str]
    # The pattern cannot match unless the message has one of these words, so most messages
    # skip it. None: always run (or, with `foreign`, only on non-English letters).
    triggers: frozenset[str] | None
    # Also run when the message has letters of another script or accented Latin letters.
    foreign: bool


def _rules(
    detail: str,
    entries: Sequence[Mapping[str, Any]],
    *,
    foreign: bool,
    triggers: frozenset[str] | None = None,
) -> list[_Rule]:
    """Rules for lexicon entries; `triggers` is for entries that list none of their own."""
    return [
        _Rule(
            detail,
            re.compile(regex(entry["pattern"], _NAMES), re.IGNORECASE | re.MULTILINE),
            frozenset(entry["triggers"]) if entry.get("triggers") else triggers,
            foreign,
        )
        for entry in entries
    ]


_STRONG: tuple[_Rule, ...] = (
    *_rules("override", _LEXICON["override"], foreign=True),
    *_rules("override", _LEXICON["multilingual"], foreign=True, triggers=_ML_TRIGGERS),
    *_rules("extraction", _LEXICON["extraction"], foreign=True),
    *_rules("role", _LEXICON["role"], foreign=False),
    *_rules("authority", _LEXICON["authority"], foreign=False),
    *_rules("third_party", _LEXICON["third_party"], foreign=False),
    *_rules("persuasion", _LEXICON["persuasion"], foreign=False),
    *_rules("encoded", _LEXICON["encoded"], foreign=False),
)
_WEAK: tuple[tuple[str, _Rule], ...] = tuple(
    (name, rule)
    for detail in ("role", "authority", "persuasion")
    for name, entry in _LEXICON[f"{detail}_weak"].items()
    for rule in _rules(detail, [entry], foreign=False)
)
# On the raw text, with case, so that a capitalised name can be told from an ordinary word.
_NAMED_PII = re.compile(regex(_LEXICON["named_pii"], _NAMES))
_WORD_TOKEN = re.compile(r"[a-z0-9_]+")
# Weak cues count toward a hit only when this many different ones occur.
WEAK_CUES_NEEDED = 2


def _readable(decoded: str) -> bool:
    """Decoded bytes look like a sentence: printable, mostly letters, with word breaks."""
    if len(decoded) < 8:
        return False
    printable = sum(ch.isprintable() or ch in "\n\t" for ch in decoded)
    letters = sum(ch.isalpha() or ch == " " for ch in decoded)
    return (
        printable / len(decoded) > 0.95
        and letters / len(decoded) > 0.75
        and decoded.count(" ") >= 2
    )


def _decode_base64(blob: str) -> str:
    blob = blob.rstrip("=")
    try:
        raw = base64.b64decode(
            blob + "=" * (-len(blob) % 4), altchars=b"-_" if ("-" in blob or "_" in blob) else None
        )
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return ""


def _decode_hex(blob: str) -> str:
    digits = re.sub(r"\\x|0x|[\s,:]", "", blob)
    try:
        return bytes.fromhex(digits[: len(digits) // 2 * 2]).decode("utf-8")
    except ValueError:
        return ""


def _decode_binary(blob: str) -> str:
    try:
        return bytes(int(b, 2) for b in blob.split()).decode("utf-8")
    except ValueError:
        return ""


def _decode_morse(blob: str) -> str:
    words = re.split(r"\s*/\s*|\s{3,}", blob.strip())
    out = []
    for word in words:
        codes = word.split()
        if not codes or any(code not in _MORSE for code in codes):
            return ""
        out.append("".join(_MORSE[code] for code in codes))
    return " ".join(out)


_DECODERS: tuple[tuple[re.Pattern[str], Callable[[str], str]], ...] = (
    (_BASE64_RUN, _decode_base64),
    (_HEX_RUN, _decode_hex),
    (_BINARY_RUN, _decode_binary),
    (_MORSE_RUN, _decode_morse),
)


def _encoded_hits(text: str, depth: int) -> list[Hit]:
    hits = []
    for pattern, decode in _DECODERS:
        for m in pattern.finditer(text):
            decoded = decode(m.group())
            if not _readable(decoded):
                continue
            inner = _scan(decoded, depth + 1)
            # Readable prose hidden in an encoding is itself the device; an instruction inside
            # it makes it certain.
            weight = 1.0 if inner else 0.8
            hits.append(Hit(KIND, m.start(), m.end(), m.group(), weight, "encoded"))
    for m in _TAG_CHARS.finditer(text):
        hits.append(Hit(KIND, m.start(), m.end(), m.group(), 1.0, "encoded"))
    for m in _ROT13.finditer(text.lower()):
        hits.append(Hit(KIND, m.start(), m.end(), text[m.start() : m.end()], 1.0, "encoded"))
    if len(text) >= 60:
        for m in _STUFFING.finditer(text):
            hits.append(Hit(KIND, m.start(), m.end(), m.group(), 0.8, "encoded"))
    return hits


def _scan(text: str, depth: int = 0) -> list[Hit]:
    # Patterns ignore case except where case tells (a capitalised name, "DAN"), so they run on
    # the text with only its quotes straightened.
    straight = straighten(text)
    folded = fold(text)
    words = set(_WORD_TOKEN.findall(folded))
    foreign = _NON_ENGLISH.search(text) is not None

    def runs(rule: _Rule) -> bool:
        if rule.foreign and foreign:
            return True
        if rule.triggers is None:
            return not rule.foreign
        return not rule.triggers.isdisjoint(words)

    hits: list[Hit] = []
    for rule in _STRONG:
        if runs(rule):
            for m in rule.pattern.finditer(straight):
                if m.end() > m.start():
                    hits.append(
                        Hit(KIND, m.start(), m.end(), text[m.start() : m.end()], 1.0, rule.detail)
                    )
    if "'s" in folded or "s'" in folded:
        for m in _NAMED_PII.finditer(straight):
            hits.append(Hit(KIND, m.start(), m.end(), m.group(), 1.0, "third_party"))

    weak: list[Hit] = []
    names = set()
    for name, rule in _WEAK:
        if runs(rule):
            for m in rule.pattern.finditer(straight):
                weak.append(
                    Hit(KIND, m.start(), m.end(), text[m.start() : m.end()], 0.5, rule.detail)
                )
                names.add(name)
    if len(names) >= WEAK_CUES_NEEDED or (hits and weak):
        hits += weak

    if depth < 2:
        hits += _encoded_hits(text, depth)
        # Leetspeak ("1gn0r3 4ll pr3v10us 1nstruct10ns"): read it as letters and look again.
        if len(_LEET_WORD.findall(folded)) >= 2:
            unleeted = _LEET_WORD.sub(lambda m: m.group().translate(_LEET), folded)
            if unleeted != folded:
                for hit in _scan(unleeted, depth + 2):
                    hits.append(
                        Hit(
                            KIND,
                            hit.start,
                            hit.end,
                            text[hit.start : hit.end],
                            hit.weight,
                            hit.detail,
                        )
                    )
    return hits


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def _learned_hit(text: str) -> Hit | None:
    """A hit over the message's highest-scoring sentence when the learned model flags the
    whole message."""
    learned = model("injection")
    if not flags(learned, text):
        return None
    spans = [m.span() for m in _SENTENCE.finditer(text) if m.group().strip()]
    start, end = max(spans, key=lambda s: probability(learned, text[s[0] : s[1]]))
    while start < end and text[start].isspace():
        start += 1
    return Hit(KIND, start, end, text[start:end], 1.0, "learned")


def rule_hits(text: str) -> list[Hit]:
    """What the rules alone find: injection_hits without the learned model."""
    if not text or not text.strip():
        return []
    return merge_overlaps(_scan(text), text)


def injection_hits(text: str) -> list[Hit]:
    """Prompt-injection attempts in one customer message, each with its evidence span and
    its device in `detail`."""
    if not text or not text.strip():
        return []
    hits = rule_hits(text)
    if not hits:
        learned = _learned_hit(text)
        if learned is not None:
            hits = [learned]
    return hits
