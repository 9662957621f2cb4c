"""The learned sentiment adjustment: its training, and its cross-validation on STC-3.

    python -m bench.sentiment_cv [--data ../shared/data]            # the CV table
    python -m bench.sentiment_cv --write                            # and ship the model

`sentiment()` is VADER's compound score plus a bounded share of a linear model over hashed
n-grams of the message (`escalation.signals.sentiment.combine`), fitted to the satisfaction of the dialogue it comes from (STC-3's
`satisfaction_mean`, the mean of 19 annotators, halved to -1..1, centred). STC-3 is the only
source with a satisfaction label, so the measure is 5-fold cross-validation grouped by
dialogue: every customer turn of one dialogue is on one side. Printed beside it: VADER alone
(the old detector, which is also the trivial baseline), each aggregated over the dialogue as the
engine does (recency-weighted, `escalation.analysis`).

`--write` trains on all of STC-3 and writes `escalation/signals/models/sentiment.json`.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

from bench.eval import auroc, spearman
from escalation.analysis import _recency_weighted
from escalation.signals.learned import BUCKETS, Model, linear, ngram_buckets
from escalation.signals.sentiment import combine

ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = ROOT / "escalation/signals/models/sentiment.json"
FOLDS = 5
SEED = 14
EPOCHS = 6
LEARNING_RATE = 0.05
L2 = 1e-4
KEEP_ABOVE = 0.01


def _vader(text: str) -> float:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = SentimentIntensityAnalyzer()
    return float(_ANALYZER.polarity_scores(text)["compound"]) if text.strip() else 0.0


_ANALYZER = None


def load(data: Path) -> list[dict]:
    with (data / "stc3/dialogues-dev.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    for row in rows:
        texts = [t["text"] for t in row["turns"] if t["role"] == "customer"] or [""]
        row["texts"] = texts
        row["buckets"] = [sorted(ngram_buckets(t)) for t in texts]
        row["vader"] = [_vader(t) for t in texts]
    return rows


def train(rows: Sequence[dict], *, seed: int = SEED) -> Model:
    """Least squares by SGD of the centred, halved satisfaction on each customer turn's
    n-grams, L2 applied lazily to the weights a turn touches."""
    samples = [
        (buckets, row["label"]["satisfaction_mean"] / 2)
        for row in rows
        for buckets in row["buckets"]
    ]
    centre = sum(y for _, y in samples) / len(samples)
    weights = [0.0] * BUCKETS
    order = list(range(len(samples)))
    rng = random.Random(seed)
    for epoch in range(EPOCHS):
        rng.shuffle(order)
        rate = LEARNING_RATE / (1 + epoch)
        for index in order:
            buckets, target = samples[index]
            if not buckets:
                continue
            scale = 1 / math.sqrt(len(buckets))
            error = scale * sum(weights[b] for b in buckets) - (target - centre)
            step = error * rate * scale
            for b in buckets:
                weights[b] -= step + rate * L2 * weights[b]
    return Model(
        name="sentiment",
        bias=0.0,
        weights={b: w for b, w in enumerate(weights) if abs(w) > KEEP_ABOVE},
        structure={},
        threshold=0.0,
    )


def _fold(row: dict) -> int:
    return zlib.crc32(row["id"].encode()) % FOLDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    parser.add_argument("--write", action="store_true", help="train on all and ship the model")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = load(args.data)
    adjusted: dict[str, list[float]] = {}
    for held in range(FOLDS):
        model = train([r for r in rows if _fold(r) != held])
        for row in rows:
            if _fold(row) == held:
                adjusted[row["id"]] = [linear(model, t) for t in row["texts"]]
    means = [row["label"]["satisfaction_mean"] for row in rows]
    unhappy = [row["label"]["dissatisfied"] for row in rows]
    series = {
        "VADER (old, baseline)": [row["vader"] for row in rows],
        "VADER + model (shipped), CV": [
            [combine(v, a) for v, a in zip(row["vader"], adjusted[row["id"]], strict=True)]
            for row in rows
        ],
        "VADER + model unbounded, CV": [
            [
                max(-1.0, min(1.0, v + a))
                for v, a in zip(row["vader"], adjusted[row["id"]], strict=True)
            ]
            for row in rows
        ],
        "model alone, CV": [adjusted[row["id"]] for row in rows],
    }
    print(
        f"Sentiment, STC-3 ({len(rows)} dialogues), {FOLDS}-fold CV grouped by dialogue; "
        "each dialogue's customer turns aggregated as the engine does"
    )
    print(f"  {'':<30}{'Spearman ~ satisfaction':>26}{'AUROC -> dissatisfied':>24}")
    for name, values in series.items():
        now = [_recency_weighted(v) for v in values]
        print(
            f"  {name:<30}{spearman(now, means):>26.3f}{auroc([-x for x in now], unhappy):>24.3f}"
        )
    print("  target: Spearman >= 0.45 (the engine's risk AUROC is in make eval)")
    if args.write:
        model = train(rows)
        payload = {
            "name": model.name,
            "_trained_by": f"python -m bench.sentiment_cv --write (seed {SEED})",
            "bias": 0.0,
            "threshold": 0.0,
            "structure": {},
            "weights": {str(b): round(w, 4) for b, w in sorted(model.weights.items())},
        }
        MODEL_PATH.write_text(json.dumps(payload, separators=(",", ":")) + "\n", encoding="utf-8")
        print(
            f"\nwrote {MODEL_PATH.relative_to(ROOT)}: {len(model.weights)} weights, "
            f"{MODEL_PATH.stat().st_size // 1024} KB"
        )
    print(f"  ({time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
