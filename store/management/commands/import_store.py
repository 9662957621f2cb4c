from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from store.importers import store_import_tau_retail

FORMATS = {"tau-retail": store_import_tau_retail}


class Command(BaseCommand):
    help = "Load customers, products and orders into the store, keeping their ids."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--format", required=True, choices=sorted(FORMATS))

    def handle(self, *args: Any, directory: Path, format: str, **options: Any) -> None:
        missing = [
            name
            for name in ("users.json", "products.json", "orders.json")
            if not (directory / name).is_file()
        ]
        if missing:
            raise CommandError(f"{directory} lacks {', '.join(missing)}.")
        counts = FORMATS[format](directory=directory)
        self.stdout.write(
            f"Imported {counts.customers} customers ({counts.payment_methods} payment methods), "
            f"{counts.products} products ({counts.variants} variants), {counts.orders} orders."
        )
