"""`manage.py generate_history --conversations N --days D [--seed S] [--append]`

Seeded, realistic history for the metrics: N conversations over the D days before now, with
their events (the protocol's payloads, feedback included), cases with timelines and handoff
packets, store customers (tiers) with orders before and after their contacts and subscriptions
that end, and the contacts, classified by the same classify() the live path uses; then the
rollups. Written in bulk (COPY on PostgreSQL): a million conversations take minutes.

The causal story the data follows (outcomes/generate_story.py has it step by step):
- Topics differ in how often the AI can answer them, how hard they are, and how much the
  problem itself pushes a subscriber to cancel.
- Some customers ask for a person at once (human_direct). Otherwise the AI answers, or fails
  and the customer rephrases, then gives up (abandoned), is closed unanswered (deflected) or is
  handed to a person (ai_then_human).
- The queue wait depends on the hour's load, not on the path; long waits make customers leave
  the queue. Each agent has their own habit of skipping the greeting; a cold agent asks for the
  order again, and a customer who already told the AI then repeats it. Some cases are
  transferred, end in a follow-up, or are handed back (and some come back again).
- The customer's experience follows from what happened (a right answer, rounds with the bot,
  minutes waited, repeating, a cold greeting, a transfer, the ending, the topic's difficulty).
  About 30% answer the survey, the unhappy and the delighted more often; ratings are the
  experience with noise, for the AI part, the human part and overall.
- Wrong answers bring the customer back on the same topic within days; others return later.
- Within 60 days of a contact customers buy again (tier baseline, moved by the experience) and
  subscribers cancel (the topic's pull, raised by a bad experience). Customers who never
  contact support follow the baselines: the comparison group.
So the handoff-gap and churn reports find what these causes produce; nothing writes their
answers. Refuses to run into a database that already holds generated history unless --append.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from outcomes.generate import HistoryExists, history_generate


class Command(BaseCommand):
    help = (__doc__ or "").split("\n\n")[1].replace("\n", " ")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--conversations", type=int, default=10_000)
        parser.add_argument("--days", type=int, default=120)
        parser.add_argument("--seed", type=int, default=12)
        parser.add_argument(
            "--append",
            action="store_true",
            help="add to generated history already in the database",
        )
        parser.add_argument("--batch", type=int, default=5000, help="conversations per write")

    def handle(
        self,
        *args: Any,
        conversations: int,
        days: int,
        seed: int,
        append: bool,
        batch: int,
        **options: Any,
    ) -> None:
        if conversations <= 0 or days <= 0:
            raise CommandError("--conversations and --days must be positive.")
        started = time.perf_counter()
        bar = tqdm(
            total=conversations,
            unit="conv",
            disable=options.get("verbosity", 1) == 0,
            file=self.stderr._out,
        )
        try:
            counts = history_generate(
                conversations=conversations,
                days=days,
                seed=seed,
                append=append,
                batch=batch,
                progress=bar.update,
            )
        except HistoryExists:
            raise CommandError(
                "This database already holds generated history: pass --append to add more, "
                "or use a fresh database."
            ) from None
        finally:
            bar.close()
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"Generated {counts.line()} in {seconds:.1f} s "
            f"({counts.conversations / seconds:,.0f} conversations/s)."
        )
