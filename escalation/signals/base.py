"""What every detector returns, and the small text helpers they share."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    """One piece of evidence. `start`/`end` are character offsets into the analysed text and
    `text` is that span, so a reviewer can see exactly what fired. `detail` names a sub-type
    where a kind has several (for prompt injection: override, extraction, role, ...)."""

    kind: str
    start: int
    end: int
    text: str
    weight: float = 1.0
    detail: str = ""


# Curly quotes and apostrophes become straight ones, one character for one, so offsets into
# the folded text are offsets into the original.
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})


def straighten(text: str) -> str:
    """`text` with straight quotes and apostrophes, keeping its length and offsets."""
    return text.translate(_FOLD)


def fold(text: str) -> str:
    """Lower-case `text` and straighten its quotes, keeping its length and offsets."""
    folded = text.translate(_FOLD).lower()
    # A few characters change length when lower-cased (e.g. "İ"); keep offsets exact then.
    return folded if len(folded) == len(text) else text.translate(_FOLD)


def hits_from(
    pattern: re.Pattern[str],
    haystack: str,
    original: str,
    kind: str,
    *,
    weight: float = 1.0,
    detail: str = "",
    group: int | str = 0,
) -> list[Hit]:
    """One Hit per match of `pattern` in `haystack`, a same-length form of `original`."""
    hits = []
    for start, end in spans(pattern, haystack, group):
        hits.append(Hit(kind, start, end, original[start:end], weight, detail))
    return hits


def spans(pattern: re.Pattern[str], haystack: str, group: int | str = 0) -> list[tuple[int, int]]:
    """Spans of `pattern` in `haystack`. A match that another alternative of the pattern
    continues from inside it ("please escalate" + "escalate this to a manager") is extended,
    so the span covers the whole of the evidence."""
    found = []
    for m in pattern.finditer(haystack):
        start, end = m.span(group)
        if start < 0 or start == end:
            continue
        pos = m.start() + 1
        while pos < end:
            inner = pattern.search(haystack, pos)
            if inner is None or inner.start() >= end:
                break
            end = max(end, inner.span(group)[1])
            pos = inner.start() + 1
        found.append((start, end))
    return found


def merge_overlaps(hits: Iterable[Hit], text: str) -> list[Hit]:
    """Hits in text order, with overlapping hits of the same kind and detail merged into one
    span carrying the larger weight."""
    merged: list[Hit] = []
    open_by_kind: dict[tuple[str, str], int] = {}
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        index = open_by_kind.get((hit.kind, hit.detail))
        if index is not None and hit.start < merged[index].end:
            prev = merged[index]
            end = max(prev.end, hit.end)
            merged[index] = Hit(
                prev.kind,
                prev.start,
                end,
                text[prev.start : end],
                max(prev.weight, hit.weight),
                prev.detail,
            )
            continue
        open_by_kind[(hit.kind, hit.detail)] = len(merged)
        merged.append(hit)
    return merged
