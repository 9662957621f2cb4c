from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from actions.models import Actor
from actions.services import action_execute, authority_limits


def _case_parse(line: str) -> tuple[dict[str, Any], str | None, list[tuple[str, Any]]]:
    """A case, its customer and its (tool, args) actions; raises on anything malformed."""
    case = json.loads(line)
    customer = case.get("customer")
    actions = [(action["tool"], action.get("args", {})) for action in case["actions"]]
    if customer is not None and not isinstance(customer, str):
        raise TypeError("the customer is not a string")
    if not all(isinstance(tool, str) for tool, _ in actions):
        raise TypeError("a tool is not a string")
    return case, customer, actions


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
                    case, customer, actions = _case_parse(line)
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    what = f"no {exc}" if isinstance(exc, KeyError) else exc
                    raise CommandError(f"{file}:{number}: not a case ({what})") from None
                decisions, reasons = [], []
                with transaction.atomic():
                    for tool, action_args in actions:
                        outcome = action_execute(
                            actor=actor,
                            tool=tool,
                            args=action_args,
                            account_id=customer,
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
