from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from desk.actions.models import Actor
from desk.actions.services import action_execute, authority_limits


class Command(BaseCommand):
    help = (
        "Run policy cases (tau-retail cases format): each case's actions in order, executing "
        "every allowed one so later actions see it, then roll the case back. One JSON line a case."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--actor", choices=[a.value for a in Actor], default=Actor.SUPERVISOR)

    def handle(self, *args: Any, file: Path, actor: str, **options: Any) -> None:
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        limits = authority_limits()
        started, count = time.perf_counter(), 0
        with file.open() as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    case = json.loads(line)
                    actions = case["actions"]
                except (ValueError, KeyError, TypeError) as exc:
                    raise CommandError(f"{file}:{number}: not a case ({exc})") from None
                decisions, reasons = [], []
                with transaction.atomic():
                    for action in actions:
                        outcome = action_execute(
                            actor=actor,
                            tool=action["tool"],
                            args=action.get("args", {}),
                            account_id=case.get("customer"),
                            limits=limits,
                        )
                        decisions.append(outcome.decision.outcome)
                        reasons.append(outcome.decision.reasons)
                    transaction.set_rollback(True)
                self.stdout.write(
                    json.dumps({"id": case.get("id"), "decisions": decisions, "reasons": reasons})
                )
                count += 1
        self.stderr.write(f"{count} cases in {time.perf_counter() - started:.1f}s")
