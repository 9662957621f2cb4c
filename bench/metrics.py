"""Benchmark the metrics on generated history: the generator, the /metrics/ page and
`manage.py metrics --json`, cold and warm, beside baselines measured in the same run.

    DATABASE_URL=postgres://…/scratch python -m bench.metrics [--conversations 1000000]
        [--days 120] [--runs 5] [--flush] [--reuse]

Runs on a scratch database (bench/scratch.py): point DATABASE_URL at an empty PostgreSQL
database (--flush empties one that holds cases), or leave it unset for a temporary SQLite file.
--reuse keeps generated history already there and only times the reads.

1. `generate_history --conversations N --days D` (outcomes/generate.py): its wall time and
   conversations/s, rollups included.
2. Server time, in-process (django.test.Client, no network): GET /metrics/ as a supervisor
   (the issue's target: <= 1 s with 1,000,000 conversations), and call_command("metrics",
   "--json", since=...). Cold is the first call after the rollups were built, on a fresh
   database connection (PostgreSQL's own cache stays warm: the data were just written);
   warm is the median of --runs calls after it.
3. Baselines, likewise cold and warm: SELECT count(*) over Contact (one scan of every contact),
   and GET /approvals/ with nothing waiting (a small page: the fixed cost of a request).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.scratch import scratch_django


def _ms(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def _cold_warm(run: Callable[[], Any], runs: int) -> tuple[float, float]:
    from django.db import connection

    connection.close()
    cold = _ms(run)
    warm = statistics.median(_ms(run) for _ in range(runs))
    return cold, warm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--flush", action="store_true", help="empty a database holding cases")
    parser.add_argument(
        "--reuse", action="store_true", help="keep generated history that is there; time reads"
    )
    args = parser.parse_args()
    with scratch_django(
        flush=args.flush and not args.reuse, prefix="baton-bench-metrics-", keep=args.reuse
    ) as vendor:
        return bench_metrics(args, vendor)


def _supervisor() -> Any:
    from django.contrib.auth import get_user_model

    from escalation.models import AgentProfile

    user, _ = get_user_model().objects.get_or_create(
        username="bench-supervisor", defaults={"is_staff": True}
    )
    AgentProfile.objects.update_or_create(
        user=user, defaults={"role": AgentProfile.Role.SUPERVISOR}
    )
    return user


def bench_metrics(args: argparse.Namespace, vendor: str) -> int:
    from django.core.management import call_command
    from django.test import Client

    from conversations.models import Conversation, Event
    from outcomes.generate import HISTORY_INTEGRATION, history_generate
    from outcomes.models import Contact, OutcomeDay

    print(f"metrics bench on {vendor}")
    have = Conversation.objects.filter(integration__name=HISTORY_INTEGRATION).count()
    if have and args.reuse:
        print(f"  reusing {have:,} generated conversations")
    else:
        started = time.perf_counter()
        counts = history_generate(conversations=args.conversations, days=args.days, seed=args.seed)
        seconds = time.perf_counter() - started
        print(f"  generate_history: {counts.line()}")
        print(
            f"  generated in {seconds:,.1f} s: {counts.conversations / seconds:,.0f} "
            f"conversations/s, {counts.events / seconds:,.0f} events/s (rollups included)"
        )
    contacts = Contact.objects.count()
    print(
        f"  database: {Conversation.objects.count():,} conversations, "
        f"{Event.objects.count():,} events, {contacts:,} contacts, "
        f"{OutcomeDay.objects.count():,} rollup rows"
    )

    client = Client()
    client.force_login(_supervisor())
    since = f"{args.days}d"

    def page() -> None:
        response = client.get("/metrics/", {"since": since})
        assert response.status_code == 200, response.status_code

    def small_page() -> None:
        response = client.get("/approvals/")
        assert response.status_code in (200, 302), response.status_code

    def metrics_json() -> None:
        out = io.StringIO()
        call_command("metrics", "--json", since=since, stdout=out)
        assert out.getvalue().startswith("{")

    def count_contacts() -> None:
        Contact.objects.count()

    rows = [
        ("GET /metrics/ (all four months)", page, "<= 1000"),
        ("manage.py metrics --json", metrics_json, ""),
        ("baseline: SELECT count(*) FROM contact", count_contacts, ""),
        ("baseline: GET /approvals/ (empty)", small_page, ""),
    ]
    print(
        f"  server time, ms (cold: first call on a fresh connection; warm: median of {args.runs})"
    )
    print(f"  {'':<42}{'cold':>10}{'warm':>10}{'target':>10}")
    for name, run, target in rows:
        cold, warm = _cold_warm(run, args.runs)
        print(f"  {name:<42}{cold:>10.1f}{warm:>10.1f}{target:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
