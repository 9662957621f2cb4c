"""The word lists and patterns the detectors match, kept as JSON in `lexicons/` so that they
can be read and edited as data.

A lexicon may have `words` (lists of phrases) and `fragments` (pieces of regex). A pattern is a
Python regex written as one string, or as a list of strings joined with nothing between them so
that a long one can be read line by line; `{name}` in it stands for a word list, as a group that
tries its phrases longest first, or for a fragment. Keys that start with "_" are notes for
people and are not loaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

_NAME = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@cache
def lexicon(name: str) -> dict[str, Any]:
    """`lexicons/<name>.json` without its notes, read once per process. It is shared: read it,
    do not change it."""
    source = resources.files("escalation.signals").joinpath("lexicons", f"{name}.json")
    return _without_notes(json.loads(source.read_text(encoding="utf-8")))


def _without_notes(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_notes(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_without_notes(v) for v in value]
    return value


def alternation(words: Sequence[str]) -> str:
    """A group matching any of `words`. Longer phrases go first, so that "system prompt" wins
    over "system" and a phrase is not cut short at a word it starts with."""
    return "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"


def regex(source: str | Sequence[str], names: Mapping[str, str]) -> str:
    """The pattern written as `source`, with each `{name}` replaced by `names[name]`."""
    text = source if isinstance(source, str) else "".join(source)

    def named(m: re.Match[str]) -> str:
        if m[1] not in names:
            raise KeyError(f"{{{m[1]}}} is neither a word list nor a fragment of this lexicon")
        return names[m[1]]

    return _NAME.sub(named, text)


def pattern_names(table: Mapping[str, Any]) -> dict[str, str]:
    """What `{name}` stands for in a lexicon's patterns: each of its `words` as an alternation,
    then each of its `fragments`, which may use the words and earlier fragments."""
    names = {name: alternation(words) for name, words in table.get("words", {}).items()}
    for name, source in table.get("fragments", {}).items():
        names[name] = regex(source, names)
    return names
