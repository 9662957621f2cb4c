from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from desk.demo import DEMO_PASSWORD, demo_people_ensure, demo_store_seed


class Command(BaseCommand):
    help = "Create the demo outdoor-gear shop (customers, products, orders) and the desk's people."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=5000)
        parser.add_argument("--orders", type=int, default=50000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--no-logins",
            action="store_false",
            dest="logins",
            help="do not list the logins (rundemo lists them with the URL)",
        )

    def handle(
        self, *args: Any, customers: int, orders: int, seed: int, logins: bool, **options: Any
    ) -> None:
        started = time.perf_counter()
        # Rows written: products, customers and their payment methods, orders with their items,
        # payments and fulfillments.
        expected = customers * 2 + int(orders * 4.7) + 150
        with tqdm(total=expected, unit="rows", desc="demo shop", disable=None) as bar:
            counts = demo_store_seed(
                customers=customers, orders=orders, seed=seed, progress=bar.update
            )
        people = demo_people_ensure()
        self.stdout.write(
            f"Store: {counts.customers} customers, {counts.orders} orders, "
            f"{counts.products} products ({counts.variants} variants) "
            f"in {time.perf_counter() - started:.1f}s."
        )
        if not logins:
            return
        self.stdout.write(f"Desk logins (password for all: {DEMO_PASSWORD}):")
        for username, role in people:
            self.stdout.write(f"  {username:<6} {role}")
