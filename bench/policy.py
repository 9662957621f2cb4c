"""Benchmark: one policy check plus execution, against a bare locked write in the same run.

    python -m bench.policy [--n 500] [--data ../shared/data/tau-retail]

Runs on a fresh database (a temporary SQLite file unless DATABASE_URL is set), loads the
tau-retail store if present (else a small demo shop), and times `action_execute` for a cancel,
an address change and a refund, each in a transaction that is rolled back. The baseline is the
least such a write can cost: lock the order row and insert one payment row, rolled back too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/tau-retail")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="baton-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    import django

    django.setup()
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection, transaction

    from actions.services import action_execute, authority_limits
    from store.models import Order, Payment

    call_command("migrate", verbosity=0)
    if (args.data / "orders.json").is_file():
        call_command("import_store", str(args.data), format="tau-retail", verbosity=0)
        source = "tau-retail"
    else:
        call_command("seed_demo", customers=500, orders=5000, verbosity=0)
        source = "demo shop"

    pending = list(Order.objects.filter(status="pending").select_related("customer")[: args.n])
    if not pending:
        sys.exit("no pending orders to act on")
    limits = authority_limits()

    def timed(run) -> list[float]:  # type: ignore[no-untyped-def]
        samples = []
        for i in range(args.n):
            order = pending[i % len(pending)]
            started = time.perf_counter()
            with transaction.atomic():
                run(order)
                transaction.set_rollback(True)
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    def baseline(order: Order) -> None:
        locked = Order.objects.select_for_update().get(pk=order.pk)
        Payment.objects.create(
            order=locked,
            transaction_type="refund",
            amount=Decimal("1.00"),
            payment_method_id="bench",
        )

    def cancel(order: Order) -> None:
        outcome = action_execute(
            actor="supervisor",
            tool="cancel_pending_order",
            args={"order_id": order.order_id, "reason": "no longer needed"},
            account_id=order.customer.customer_id,
            limits=limits,
        )
        assert outcome.executed, outcome.decision.reasons

    def address(order: Order) -> None:
        outcome = action_execute(
            actor="agent",
            tool="modify_pending_order_address",
            args={
                "order_id": order.order_id,
                "address1": "1 Main St",
                "address2": "",
                "city": "Denver",
                "state": "CO",
                "country": "USA",
                "zip": "80202",
            },
            account_id=order.customer.customer_id,
            limits=limits,
        )
        assert outcome.executed, outcome.decision.reasons

    def refund(order: Order) -> None:
        outcome = action_execute(
            actor="ai",
            tool="refund_payment",
            args={"order_id": order.order_id, "amount": "5.00", "reason": "late"},
            account_id=order.customer.customer_id,
            limits=limits,
        )
        assert outcome.executed, outcome.decision.reasons

    for run in (baseline, cancel):  # warm up connections and caches
        timed(run)
    results = {
        name: timed(run)
        for name, run in [
            ("baseline: lock + insert", baseline),
            ("cancel_pending_order", cancel),
            ("modify_pending_order_address", address),
            ("refund_payment (ai)", refund),
        ]
    }
    base = statistics.median(results["baseline: lock + insert"])
    print(f"policy check + execution, {args.n} runs each, {connection.vendor}, {source}")
    print(f"{'action':<32}{'p50 ms':>9}{'p99 ms':>9}{'x baseline':>12}")
    for name, samples in results.items():
        samples.sort()
        p50 = statistics.median(samples)
        p99 = samples[int(len(samples) * 0.99) - 1]
        print(f"{name:<32}{p50:>9.2f}{p99:>9.2f}{p50 / base:>12.1f}")


if __name__ == "__main__":
    main()
