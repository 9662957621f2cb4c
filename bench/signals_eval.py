"""Evaluate the message signals (escalation.signals) on the shared dev data.

    python -m bench.signals_eval [--data ../shared/data] [--show N]

Prints:
- Bitext: recall of `customer_requested_human` on intent `contact_human_agent`, and its
  false-positive rate on every other intent except `contact_customer_service`, for
  train.csv, validation.csv and both together;
- prompt injection: recall on injection/attacks-dev.jsonl by kind, and the false-positive
  rate on the customer turns of the other sets;
- how often each other signal fires on real customer (and AI) turns, for a sanity check;
- the time all detectors together take per customer message.

Needs no Django and no database. `--show N` prints up to N misses and false positives of each
measure, to read while developing; it never writes the data anywhere.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from escalation.signals import (
    frustration_hits,
    injection_hits,
    loop_hit,
    sentiment,
    topic_hits,
)

ROOT = Path(__file__).resolve().parent.parent

HUMAN = "customer_requested_human"
EXCLUDED_INTENT = "contact_customer_service"
TARGET_INTENT = "contact_human_agent"


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _asks_for_human(text: str) -> bool:
    return any(h.kind == HUMAN for h in frustration_hits(text))


def _show(title: str, texts: Iterable[str], n: int) -> None:
    texts = list(texts)
    if not n or not texts:
        return
    print(f"    {title} ({len(texts)}):")
    for text in texts[:n]:
        print("      -", text.replace("\n", " ")[:200])


def bitext(data: Path, show: int) -> None:
    print("Bitext: customer_requested_human")
    print(f"  {'file':<22}{'recall':>16}{'FPR':>18}")
    totals = [0, 0, 0, 0]
    for name in ("train.csv", "validation.csv", None):
        if name is None:
            tp, pos, fp, neg = totals
            label = "both"
        else:
            with (data / "bitext" / name).open(encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            misses, false_pos = [], []
            tp = pos = fp = neg = 0
            for row in rows:
                intent, text = row["intent"], row["utterance"]
                if intent == EXCLUDED_INTENT:
                    continue
                fired = _asks_for_human(text)
                if intent == TARGET_INTENT:
                    pos += 1
                    tp += fired
                    if not fired:
                        misses.append(text)
                else:
                    neg += 1
                    fp += fired
                    if fired:
                        false_pos.append(f"[{intent}] {text}")
            totals = [a + b for a, b in zip(totals, (tp, pos, fp, neg), strict=True)]
            label = name
        print(f"  {label:<22}{tp / pos:>8.4f} ({tp}/{pos}){fp / neg:>10.4f} ({fp}/{neg})")
        if name is not None:
            _show("missed", misses, show)
            _show("false positives", false_pos, show)
    print("  targets: recall >= 0.95, FPR <= 0.02")


def _customer_turns(data: Path) -> dict[str, list[list[str]]]:
    """Customer turns of each transcript set, grouped by conversation."""
    sets: dict[str, list[list[str]]] = {}
    for name, path in (
        ("stc3", data / "stc3/dialogues-dev.jsonl"),
        ("tweetsumm", data / "tweetsumm/dialogues-dev.jsonl"),
        ("linking", data / "linking/transcripts-dev.jsonl"),
    ):
        if path.exists():
            sets[name] = [
                [t["text"] for t in row["turns"] if t["role"] == "customer"]
                for row in _read_jsonl(path)
            ]
    texts = []
    for name in ("train.csv", "validation.csv"):
        with (data / "bitext" / name).open(encoding="utf-8") as f:
            texts += [[row["utterance"]] for row in csv.DictReader(f)]
    sets["bitext"] = texts
    return sets


def injection(data: Path, show: int, customer_sets: dict[str, list[list[str]]]) -> None:
    print("\nPrompt injection: recall on injection/attacks-dev.jsonl")
    rows = _read_jsonl(data / "injection/attacks-dev.jsonl")
    by_kind: dict[str, list[int]] = {}
    details: Counter[str] = Counter()
    misses: dict[str, list[str]] = {}
    for row in rows:
        hits = injection_hits(row["text"])
        stats = by_kind.setdefault(row["kind"], [0, 0])
        stats[1] += 1
        stats[0] += bool(hits)
        details.update({h.detail for h in hits})
        if not hits:
            misses.setdefault(row["kind"], []).append(row["text"])
    total = [0, 0]
    for kind in sorted(by_kind):
        hit, n = by_kind[kind]
        total = [total[0] + hit, total[1] + n]
        print(f"  {kind:<12}{hit / n:>8.3f} ({hit}/{n})")
        _show("missed", misses.get(kind, []), show)
    print(f"  {'all':<12}{total[0] / total[1]:>8.3f} ({total[0]}/{total[1]})")
    print("  hits by detail (rows):", ", ".join(f"{d} {c}" for d, c in details.most_common()))

    print("\nPrompt injection: false positives on customer turns")
    all_fp = all_n = 0
    for name, conversations in customer_sets.items():
        turns = [t for conv in conversations for t in conv]
        fps = [t for t in turns if injection_hits(t)]
        all_fp += len(fps)
        all_n += len(turns)
        print(f"  {name:<12}{len(fps) / len(turns):>8.4f} ({len(fps)}/{len(turns)})")
        _show("false positives", fps, show)
    print(f"  {'all':<12}{all_fp / all_n:>8.4f} ({all_fp}/{all_n})")
    print("  target: well under 0.01")


def rates(data: Path, customer_sets: dict[str, list[list[str]]], show: int) -> None:
    print("\nOther signals: share of customer turns where each fires")
    for name in ("stc3", "tweetsumm", "linking", "bitext"):
        conversations = customer_sets.get(name, [])
        counts: Counter[str] = Counter()
        examples: dict[str, list[str]] = {}
        n = 0
        for conv in conversations:
            for i, text in enumerate(conv):
                n += 1
                hits = frustration_hits(text, earlier_customer_texts=conv[:i]) + topic_hits(text)
                for kind in {h.kind for h in hits}:
                    counts[kind] += 1
                    examples.setdefault(kind, []).append(
                        " | ".join(f"{h.text!r}" for h in hits if h.kind == kind)
                    )
        summary = ", ".join(f"{k} {c / n:.3f}" for k, c in sorted(counts.items()))
        print(f"  {name} ({n} turns): {summary}")
        for kind, texts in sorted(examples.items()):
            _show(f"{name} {kind} evidence", texts, show)

    print("\nAI loops: share of AI turns flagged as nearly repeating an earlier AI turn")
    for name, path in (
        ("stc3", data / "stc3/dialogues-dev.jsonl"),
        ("tweetsumm", data / "tweetsumm/dialogues-dev.jsonl"),
        ("linking", data / "linking/transcripts-dev.jsonl"),
    ):
        flagged = total = 0
        loops = []
        for row in _read_jsonl(path):
            earlier: list[str] = []
            for turn in row["turns"]:
                if turn["role"] != "ai":
                    continue
                total += 1
                hit = loop_hit(turn["text"], earlier)
                if hit is not None:
                    flagged += 1
                    loops.append(f"{hit.weight:.2f} {turn['text']}")
                earlier.append(turn["text"])
        print(f"  {name:<12}{flagged / total:>8.4f} ({flagged}/{total})")
        _show("loops", loops, show)


def timing(customer_sets: dict[str, list[list[str]]]) -> None:
    conversations = [
        conv for name in ("stc3", "tweetsumm", "linking") for conv in customer_sets.get(name, [])
    ]
    conversations += customer_sets["bitext"][::4]
    messages = sum(len(c) for c in conversations)
    sentiment("warm up")

    def run_all() -> None:
        for conv in conversations:
            for i, text in enumerate(conv):
                sentiment(text)
                frustration_hits(text, earlier_customer_texts=conv[:i])
                topic_hits(text)
                injection_hits(text)

    parts = {
        "sentiment": lambda t, e: sentiment(t),
        "frustration": lambda t, e: frustration_hits(t, earlier_customer_texts=e),
        "topics": lambda t, e: topic_hits(t),
        "injection": lambda t, e: injection_hits(t),
    }
    start = time.perf_counter()
    run_all()  # the first pass also fills the word caches, as a new worker would
    cold = (time.perf_counter() - start) / messages * 1000
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        run_all()
        runs.append((time.perf_counter() - start) / messages * 1000)
    print(f"\nTiming over {messages} real customer messages (median of 3 runs)")
    print(f"  all detectors together: {statistics.median(runs):.3f} ms per message")
    print(f"  (first pass, cold caches: {cold:.3f} ms per message)")
    for name, fn in parts.items():
        start = time.perf_counter()
        for conv in conversations:
            for i, text in enumerate(conv):
                fn(text, conv[:i])
        ms = (time.perf_counter() - start) / messages * 1000
        print(f"    {name:<12}{ms:.3f} ms")
    print("  target: <= 1 ms per message")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    parser.add_argument("--show", type=int, default=0, help="print up to N examples")
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args()
    customer_sets = _customer_turns(args.data)
    bitext(args.data, args.show)
    injection(args.data, args.show, customer_sets)
    rates(args.data, customer_sets, args.show)
    if not args.no_timing:
        timing(customer_sets)


if __name__ == "__main__":
    main()
