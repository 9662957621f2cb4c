from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from escalation.replay import ReplayReport, rules_for_replay, rules_replay
from escalation.rules import RuleError

_WINDOW = re.compile(r"^(\d+)([dh])$")


def window(value: str) -> timedelta:
    match = _WINDOW.match(value.strip().lower())
    if match is None or int(match[1]) == 0:
        raise CommandError(
            f"--since takes a number of days or hours, such as 30d or 12h: {value!r}"
        )
    amount = int(match[1])
    return timedelta(days=amount) if match[2] == "d" else timedelta(hours=amount)


class Command(BaseCommand):
    help = (
        "Re-run the guardrail rules over conversations updated in a recent window and report, "
        "per rule, how many would have escalated (or been flagged), beside how many did."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since", default="30d", help="Window of conversation updates: Nd or Nh (30d)."
        )
        parser.add_argument("--rule", help="Replay only this saved rule, enabled or not.")
        parser.add_argument(
            "--condition",
            help='A condition to try, as JSON ({"all": [...]}): with --rule, in place of that '
            "rule's own; alone, as a new draft rule.",
        )
        parser.add_argument(
            "--action",
            choices=["escalate", "flag"],
            default="escalate",
            help="What a draft rule (--condition without --rule) does.",
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Write one JSON object."
        )

    def handle(
        self,
        *args: Any,
        since: str,
        rule: str | None,
        condition: str | None,
        action: str,
        as_json: bool,
        **options: Any,
    ) -> None:
        start = timezone.now() - window(since)
        parsed = None
        if condition is not None:
            try:
                parsed = json.loads(condition)
            except ValueError as exc:
                raise CommandError(f"--condition is not JSON: {exc}") from None
        try:
            rules = rules_for_replay(code=rule, condition=parsed, action=action)
        except RuleError as exc:
            raise CommandError(str(exc)) from None
        if not rules:
            raise CommandError("No enabled rules to replay.")
        report = rules_replay(since=start, rules=rules)
        if as_json:
            self.stdout.write(json.dumps({**asdict(report), "since": report.since.isoformat()}))
        else:
            self.stdout.write(_table(report, window=since))


def _table(report: ReplayReport, *, window: str) -> str:
    width = max([len("rule"), *(len(r.code) for r in report.rules)])
    lines = [
        f"Replayed {len(report.rules)} rule{'s' if len(report.rules) != 1 else ''} over "
        f"{report.conversations} conversations updated since "
        f"{report.since:%Y-%m-%d %H:%M} UTC ({window}).",
        "",
        f"{'rule':<{width}}  {'action':<8}  {'would fire':>10}  {'would lead':>10}  "
        f"{'actual':>6}  {'new':>5}",
    ]
    for row in report.rules:
        lines.append(
            f"{row.code:<{width}}  {row.action:<8}  {row.fired:>10}  {row.lead:>10}  "
            f"{row.actual:>6}  {row.new:>5}"
        )
    lines += [
        "",
        f"would escalate: {report.would_escalate} conversations, {report.new} of them with no "
        "case now",
        f"would flag:     {report.would_flag} conversations",
        f"escalated:      {report.actual_cases} conversations, {report.actual_by_these_rules} "
        f"by these rules, {report.dropped} of which they would no longer escalate",
        "",
        "would fire: the condition held at some point; would lead: the rule would have opened "
        "the case; actual: cases this rule opened; new: fired where there is no case.",
    ]
    return "\n".join(lines)
