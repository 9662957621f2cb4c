"""manage.py demo_cast: the store's customers as a cast file for `simulate --cast`."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from desk.demo import demo_cast


class Command(BaseCommand):
    help = (
        "Write customers of the store, with their orders and subscriptions, as JSON for "
        "`simulate --cast`, so simulated conversations are about real accounts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", type=int, default=300, help="customers (default 300)")
        parser.add_argument("--seed", type=int, default=11)
        parser.add_argument("-o", "--output", default="-", help="file (default: standard output)")

    def handle(self, *args: Any, size: int, seed: int, output: str, **options: Any) -> None:
        if size <= 0:
            raise CommandError("--size must be > 0")
        cast = demo_cast(size=size, seed=seed)
        if not cast:
            raise CommandError("The store has no customer with an order: run seed_demo first.")
        text = json.dumps(cast, indent=1)
        if output == "-":
            sys.stdout.write(text + "\n")
        else:
            with open(output, "w", encoding="utf-8") as file:
                file.write(text)
            if options["verbosity"]:
                self.stdout.write(f"Wrote {len(cast)} customers to {output}.")
