"""`make eval`: the escalation engine's figures on the evaluation data beside the checkout.

    python -m bench.eval [--data ../shared/data]

Runs `manage.py analyze` (the same code as live conversations) on each data set, on a fresh
database with the tau-retail store imported, and prints:
- STC-3: AUROC of `risk` for `dissatisfied`; Spearman of `sentiment` with `satisfaction_mean`;
  beside a baseline of the mean VADER compound of the customer's turns, computed in this run.
- Linking: customer accuracy and order recall.
- Bitext: recall of `customer_requested_human` on `contact_human_agent`, and its false-positive
  rate on every other intent except `contact_customer_service`; the share of calm requests (not
  those intents, nor `complaint`) on which any enabled rule escalates.
- TweetSumm: ROUGE-L F1 of `summary` against the best of the human references.

`make eval` then runs bench.injection_cv and bench.sentiment_cv: the learned detectors measured
by cross-validation (by source where there are several), which are the figures to claim.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    ranked = sorted(zip(scores, labels, strict=True), key=lambda pair: pair[0])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # average 1-based rank of the tie group
        rank_sum += mid * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    positives = sum(labels)
    negatives = len(labels) - positives
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda k: values[k])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and values[order[j]] == values[order[i]]:
            j += 1
        for k in range(i, j):
            ranks[order[k]] = (i + j + 1) / 2
        i = j
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    ra, rb = _ranks(a), _ranks(b)
    mean_a, mean_b = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(ra, rb, strict=True))
    var_a = sum((x - mean_a) ** 2 for x in ra)
    var_b = sum((y - mean_b) ** 2 for y in rb)
    return cov / (var_a * var_b) ** 0.5


def _tokens(text: str) -> list[str]:
    import re

    return re.findall(r"[a-z0-9]+", text.lower())


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 (LCS of tokens, beta = 1)."""
    c, r = _tokens(candidate), _tokens(reference)
    if not c or not r:
        return 0.0
    previous = [0] * (len(r) + 1)
    for token in c:
        current = [0]
        for j, ref_token in enumerate(r, start=1):
            current.append(
                previous[j - 1] + 1 if token == ref_token else max(previous[j], current[-1])
            )
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(c), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


def _analyze(path: Path) -> dict[str, dict]:
    from django.core.management import call_command

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        call_command("analyze", str(path), stdout=buffer)
    return {row["id"]: row for row in map(json.loads, buffer.getvalue().splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    args = parser.parse_args()
    data = args.data
    if not data.is_dir():
        sys.exit(f"No evaluation data at {data}")
    tmp = Path(tempfile.mkdtemp(prefix="baton-eval-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/eval.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    import django

    django.setup()
    from django.core.management import call_command

    from escalation.signals.sentiment import vader

    call_command("migrate", verbosity=0)
    call_command("import_store", str(data / "tau-retail"), format="tau-retail", verbosity=0)

    print("Baton escalation engine, embedded backend\n")

    # STC-3
    started = time.perf_counter()
    rows = [json.loads(line) for line in (data / "stc3/dialogues-dev.jsonl").open()]
    out = _analyze(data / "stc3/dialogues-dev.jsonl")
    labels = [row["label"]["dissatisfied"] for row in rows]
    means = [row["label"]["satisfaction_mean"] for row in rows]
    risk = [out[row["id"]]["risk"] for row in rows]
    ours = [out[row["id"]]["sentiment"] for row in rows]
    baseline = []
    for row in rows:
        customer = [vader(t["text"]) for t in row["turns"] if t["role"] == "customer"]
        baseline.append(sum(customer) / len(customer) if customer else 0.0)
    print(
        f"STC-3 ({len(rows)} dialogues, {sum(labels)} dissatisfied, {time.perf_counter() - started:.1f}s)"
    )
    print(f"  AUROC risk -> dissatisfied           {auroc(risk, labels):.3f}   (target >= 0.85)")
    print(f"  AUROC VADER-mean baseline            {auroc([-b for b in baseline], labels):.3f}")
    print(
        f"  Spearman sentiment ~ satisfaction    {spearman(ours, means):.3f}   "
        "(in-sample: its model learnt from these rows; CV figure in bench.sentiment_cv)"
    )
    print(f"  Spearman VADER-mean baseline         {spearman(baseline, means):.3f}")

    # Linking
    rows = [json.loads(line) for line in (data / "linking/transcripts-dev.jsonl").open()]
    out = _analyze(data / "linking/transcripts-dev.jsonl")
    correct = sum(1 for row in rows if out[row["id"]]["customer"] == row["label"]["customer"])
    wanted = sum(len(row["label"]["orders"]) for row in rows)
    found = sum(len(set(row["label"]["orders"]) & set(out[row["id"]]["orders"])) for row in rows)
    print(f"\nLinking ({len(rows)} transcripts, after import_store of tau-retail)")
    print(f"  customer accuracy                    {correct / len(rows):.3f}   (target >= 0.95)")
    print(f"  order recall                         {found / max(wanted, 1):.3f}")

    # Bitext
    utterances = []
    for name in ("train.csv", "validation.csv"):
        with (data / "bitext" / name).open(newline="") as handle:
            utterances += [(row["utterance"], row["intent"]) for row in csv.DictReader(handle)]
    path = tmp / "bitext.jsonl"
    with path.open("w") as handle:
        for n, (text, _) in enumerate(utterances):
            handle.write(
                json.dumps({"id": str(n), "turns": [{"role": "customer", "text": text}]}) + "\n"
            )
    out = _analyze(path)
    asked = [
        ("customer_requested_human" in out[str(n)]["reasons"], intent)
        for n, (_, intent) in enumerate(utterances)
    ]
    positives = [hit for hit, intent in asked if intent == "contact_human_agent"]
    negatives = [
        hit
        for hit, intent in asked
        if intent not in ("contact_human_agent", "contact_customer_service")
    ]
    print(f"\nBitext ({len(utterances)} utterances)")
    print(
        f"  recall on contact_human_agent        {sum(positives) / len(positives):.3f}   (target >= 0.95)"
    )
    print(
        f"  FPR on other intents                 {sum(negatives) / len(negatives):.4f}  (target <= 0.02)"
    )
    # Calm requests: every intent but asking for a person or for service, and complaints.
    calm = [
        out[str(n)]["escalate"]
        for n, (_, intent) in enumerate(utterances)
        if intent not in ("contact_human_agent", "contact_customer_service", "complaint")
    ]
    print(f"  calm requests escalated (any rule)   {sum(calm) / len(calm):.4f}  (target <= 0.02)")

    # TweetSumm
    rows = [json.loads(line) for line in (data / "tweetsumm/dialogues-dev.jsonl").open()]
    out = _analyze(data / "tweetsumm/dialogues-dev.jsonl")
    scores = [
        max(rouge_l(out[row["id"]]["summary"], ref) for ref in row["label"]["summaries"])
        for row in rows
    ]
    mean_scores = [
        sum(rouge_l(out[row["id"]]["summary"], ref) for ref in row["label"]["summaries"])
        / len(row["label"]["summaries"])
        for row in rows
    ]
    print(f"\nTweetSumm ({len(rows)} dialogues)")
    print(f"  ROUGE-L F1, best reference           {sum(scores) / len(scores):.3f}")
    print(f"  ROUGE-L F1, mean over references     {sum(mean_scores) / len(mean_scores):.3f}")


if __name__ == "__main__":
    main()
