"""Fit the risk score's weights (escalation/analysis.py RISK_WEIGHTS) on STC-3 dev.

    python -m bench.calibrate_risk [--data ../shared/data/stc3/dialogues-dev.jsonl]

A logistic regression of `dissatisfied` on the engine's conversation-level features, with an L2
penalty so that no weight leans on a few rows; 5-fold cross-validated AUROC is printed beside
the in-sample one, so overfitting shows. Paste the printed weights into RISK_WEIGHTS.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

from bench.eval import auroc

ROOT = Path(__file__).resolve().parent.parent


def fit(xs: list[list[float]], ys: list[int], *, l2: float, steps: int = 1500) -> list[float]:
    """Full-batch gradient descent on the mean log loss plus l2 * |w|^2 (bias unpenalised)."""
    w = [0.0] * (len(xs[0]) + 1)
    rate = 0.5
    n = len(xs)
    for _ in range(steps):
        grad = [0.0] * len(w)
        for x, y in zip(xs, ys, strict=True):
            z = w[0] + sum(wi * xi for wi, xi in zip(w[1:], x, strict=True))
            p = 1 / (1 + math.exp(-max(-30, min(30, z))))
            grad[0] += p - y
            for k, xi in enumerate(x, start=1):
                grad[k] += (p - y) * xi
        for k in range(len(w)):
            penalty = 2 * l2 * w[k] if k else 0.0
            w[k] -= rate * (grad[k] / n + penalty)
    return w


def main() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from escalation.analysis import Turn, conversation_messages, risk_features, state_compute

    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared/data/stc3/dialogues-dev.jsonl"
    )
    parser.add_argument("--l2", type=float, default=0.01)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.data.open()]
    names: list[str] = []
    xs, ys = [], []
    for row in rows:
        turns = [Turn(role=t["role"], text=t["text"], seq=i) for i, t in enumerate(row["turns"])]
        messages = conversation_messages(turns)
        state = state_compute(turns, messages)
        features = risk_features(
            trajectory=state.trajectory,
            counts=state.counts,
            customer_turns=state.customer_turns,
            topic=state.topic,
            messages=messages,
            last_role=turns[-1].role if turns else "",
        )
        names = list(features)
        xs.append([features[n] for n in names])
        ys.append(int(row["label"]["dissatisfied"]))
    weights = fit(xs, ys, l2=args.l2)

    def score(w: list[float], x: list[float]) -> float:
        return w[0] + sum(wi * xi for wi, xi in zip(w[1:], x, strict=True))

    print(f"in-sample AUROC {auroc([score(weights, x) for x in xs], [bool(y) for y in ys]):.3f}")
    order = list(range(len(xs)))
    random.Random(7).shuffle(order)
    folds = [order[k::5] for k in range(5)]
    cv_scores, cv_labels = [], []
    for fold in folds:
        held = set(fold)
        train = [k for k in order if k not in held]
        w = fit([xs[k] for k in train], [ys[k] for k in train], l2=args.l2)
        cv_scores += [score(w, xs[k]) for k in fold]
        cv_labels += [bool(ys[k]) for k in fold]
    print(f"5-fold cross-validated AUROC {auroc(cv_scores, cv_labels):.3f}")
    print("RISK_WEIGHTS = {")
    print(f'    "bias": {weights[0]:.2f},')
    for name, value in zip(names, weights[1:], strict=True):
        print(f'    "{name}": {value:.2f},')
    print("}")


if __name__ == "__main__":
    main()
