from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from escalation.cases.lifecycle import cases_sweep
from escalation.workload.alerts import alerts_evaluate


class Command(BaseCommand):
    help = (
        "Re-queue cases whose agent went offline or missed the first-response SLA, warn before "
        "breaches, auto-assign, and evaluate the supervisors' alerts. Production runs it from "
        "Celery beat; this is for machines without a broker (make run)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds.")

    def handle(self, *args: Any, every: float, **options: Any) -> None:
        while True:
            close_old_connections()
            result = cases_sweep()
            # Beat runs the alerts too (escalation.tasks.evaluate_alerts).
            alerts_evaluate()
            if any(result.values()):
                self.stdout.write(", ".join(f"{k} {v}" for k, v in result.items()))
            if not every:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
