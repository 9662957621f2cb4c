"""Benchmark: a widget message to the assistant's reply, p50 and p99, on the deterministic
responder and with a stub LLM that answers after a fixed delay D. The target is D + 100 ms.

    python -m bench.assistant [--n 200] [--delay 0.2]

Runs on a fresh database (a temporary SQLite file unless DATABASE_URL is set) with a small
demo shop, in process, as the embedded default does (the task runs eagerly after commit, and
the escalation engine analyses each event too). Each sample is one new conversation: the
customer's first message, with the email of their account and a question about their order,
from `customer_message` until the assistant's reply is stored.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def _quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.2, help="the stub LLM's delay D, s")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="baton-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    import logging

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from assistant.services import customer_message, widget_integration
    from conversations.models import Event
    from store.models import Customer
    from tools.fake_openai import FakeOpenAI

    logging.getLogger("httpx").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    call_command("seed_demo", customers=200, orders=600, verbosity=0)
    emails = list(Customer.objects.values_list("email", flat=True)[:200])
    settings.BATON_INGEST_RATE, settings.BATON_INGEST_BURST = 1e6, 10**7
    settings.BATON_LLM_ENABLED = False  # the packet stays embedded: this measures the reply
    integration = widget_integration()

    def run(label: str) -> list[float]:
        samples = []
        for i in range(args.n):
            name = f"bench-{label}-{i}"
            start = time.time()
            customer_message(
                conversation_external_id=name,
                text=f"Hi, I'm {emails[i % len(emails)]}. Where is my order?",
                customer=None,
                event_id=f"{name}-1",
            )
            # When the reply was stored (and pushed, after that commit): the engine's analysis
            # of the message runs after it and is not the customer's wait.
            replied = (
                Event.objects.filter(
                    integration=integration, conversation__external_id=name, role="ai"
                )
                .values_list("received_at", flat=True)
                .first()
            )
            if replied is None:
                raise SystemExit(f"{label}: no reply in {name}")
            samples.append(replied.timestamp() - start)
        return samples

    results = {"deterministic": run("det")}
    with FakeOpenAI() as fake:
        fake.slow(
            args.delay, "Thanks! Let me know your order number and I'll check it.", times=args.n
        )
        settings.OPENAI_BASE_URL = fake.base_url
        settings.BATON_LLM_MAX_RETRIES = 0
        results[f"stub LLM, D = {args.delay * 1000:.0f} ms"] = run("llm")
        settings.OPENAI_BASE_URL = ""
    for label, samples in results.items():
        print(
            f"{label:>24}: n={len(samples)}  p50 {statistics.median(samples) * 1000:7.1f} ms"
            f"  p99 {_quantile(samples, 0.99) * 1000:7.1f} ms"
        )
    llm = results[f"stub LLM, D = {args.delay * 1000:.0f} ms"]
    over = _quantile(llm, 0.99) - args.delay
    print(f"stub LLM p99 over D: {over * 1000:.1f} ms (target <= 100 ms)")


if __name__ == "__main__":
    main()
