from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from outcomes.rollups import rollups_refresh

try:
    from outcomes.services import contacts_sweep
except ImportError:  # the contacts' part is not there yet
    contacts_sweep = None


class Command(BaseCommand):
    help = (
        "End contacts idle for 72 hours, fill in their 60-day store behaviour, and rebuild "
        "the metrics rollups of the days that changed. Production runs these from Celery "
        "beat; this is for machines without a broker (make run)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds.")

    def handle(self, *args: Any, every: float, **options: Any) -> None:
        while True:
            swept = contacts_sweep() if contacts_sweep is not None else {}
            days = rollups_refresh()
            if any(swept.values()) or days:
                line = ", ".join(f"{k} {v}" for k, v in swept.items() if v)
                self.stdout.write(", ".join(filter(None, [line, f"rollup days {days}"])))
            if not every:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
            # A long-lived loop: drop a connection the database may have closed meanwhile.
            close_old_connections()
