"""Evaluate entity extraction and account linking on labelled transcripts.

    python -m bench.linking_eval [--data ../shared/data] [--misses 8]

Runs on a fresh database (a temporary SQLite file unless DATABASE_URL is set), loads the
tau-retail store, then runs `extract_entities` over every turn and `link_account` over each
transcript of linking/transcripts-dev.jsonl. Prints customer accuracy, order recall and
precision (micro-averaged over labelled and linked order ids), the mean time per transcript,
and a few misses for diagnosis.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    parser.add_argument("--misses", type=int, default=8)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="baton-linking-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/linking.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from escalation.entities import extract_entities, product_names
    from escalation.linking import link_account

    call_command("migrate", verbosity=0)
    call_command("import_store", str(args.data / "tau-retail"), format="tau-retail", verbosity=0)
    product_names.cache_clear()
    product_names()

    rows = [
        json.loads(line)
        for line in (args.data / "linking/transcripts-dev.jsonl").read_text().splitlines()
        if line.strip()
    ]
    correct = 0
    labelled_orders = linked_orders = true_orders = 0
    seconds: list[float] = []
    misses: list[str] = []
    methods: dict[str | None, int] = {}
    for row in rows:
        turns = [(turn["role"], turn["text"]) for turn in row["turns"]]
        started = time.perf_counter()
        entities = [
            entity
            for index, (_role, text) in enumerate(turns)
            for entity in extract_entities(text, turn=index)
        ]
        link = link_account(turns=turns, entities=entities)
        seconds.append(time.perf_counter() - started)

        expected_customer = row["label"]["customer"]
        expected_orders = set(row["label"]["orders"])
        methods[link.method] = methods.get(link.method, 0) + 1
        labelled_orders += len(expected_orders)
        linked_orders += len(link.order_ids)
        true_orders += len(expected_orders & set(link.order_ids))
        if link.customer_id == expected_customer:
            correct += 1
        if link.customer_id != expected_customer or set(link.order_ids) != expected_orders:
            said = [
                f"{e.type}={e.value}"
                for e in entities
                if turns[e.turn][0] == "customer"
                and e.type in {"email", "person_name", "zip", "customer_id", "order_id"}
            ]
            misses.append(
                f"  {row['id']}: expected {expected_customer} {sorted(expected_orders)}, "
                f"got {link.customer_id} {link.order_ids} via {link.method}; "
                f"customer said {said[:8]}"
            )

    total = len(rows)
    print(f"transcripts:        {total}")
    print(f"customer accuracy:  {correct / total:.3f} ({correct}/{total})")
    recall = true_orders / labelled_orders if labelled_orders else 1.0
    precision = true_orders / linked_orders if linked_orders else 1.0
    print(f"order recall:       {recall:.3f} ({true_orders}/{labelled_orders})")
    print(f"order precision:    {precision:.3f} ({true_orders}/{linked_orders})")
    print(
        "linked by:          "
        + ", ".join(
            f"{method or 'none'} {count}"
            for method, count in sorted(methods.items(), key=lambda item: -item[1])
        )
    )
    print(
        f"time per transcript: mean {statistics.mean(seconds) * 1000:.2f} ms, "
        f"max {max(seconds) * 1000:.2f} ms (extraction + linking, 2 queries at most)"
    )
    connection.close()
    shutil.rmtree(tmp, ignore_errors=True)
    if misses:
        print(f"misses ({len(misses)}, first {min(len(misses), args.misses)}):")
        for line in misses[: args.misses]:
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
