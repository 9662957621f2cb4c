"""manage.py simulate: stream scripted conversations into a running desk over the ingest socket."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tools.simulate import DESCRIPTION, SimulationError, add_simulate_arguments, run_from_options


class Command(BaseCommand):
    help = DESCRIPTION

    def add_arguments(self, parser: CommandParser) -> None:
        add_simulate_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            totals = run_from_options(options, write=self.stdout.write)
        except SimulationError as exc:
            raise CommandError(str(exc)) from exc
        if totals.unacked:
            raise CommandError(f"{totals.unacked} events were never acked")
