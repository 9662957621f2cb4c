from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from outcomes.reports import Filters, metrics_summary


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _number(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


class Command(BaseCommand):
    help = (
        "The outcome metrics of the contacts that ended in a range of days (docs/metrics.md): "
        "a table, or with --json the same object as GET /api/v1/metrics."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", default="30d", help="a date (YYYY-MM-DD) or Nd (30d)")
        parser.add_argument("--until", default="", help="a date, included (default today)")
        parser.add_argument("--topic", default="")
        parser.add_argument("--team", default="")
        parser.add_argument("--tier", default="")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            filters = Filters.from_query(options)
        except ValueError as error:
            raise CommandError(str(error)) from None
        summary = metrics_summary(filters)
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write("\n".join(_table(summary)))


def _table(s: dict[str, Any]) -> list[str]:
    f = s["filters"]
    scope = ", ".join(f"{k} {f[k]}" for k in ("topic", "team", "tier") if f[k])
    n = s["conversations"]
    lines = [
        f"Contacts that ended {f['since']} to {f['until']}" + (f" ({scope})" if scope else ""),
        f"  conversations            {n}",
        "Paths",
        *(f"  {k:<24} {v:>7}  {_percent(v / n if n else None):>6}" for k, v in s["paths"].items()),
        "Outcomes",
        *(
            f"  {k:<24} {v:>7}  {_percent(v / n if n else None):>6}"
            for k, v in s["outcomes"].items()
        ),
        "Resolution",
        f"  resolved                 {s['resolved']:>7}",
        f"  FCR                      {_percent(s['fcr']):>15}",
        f"  recurrence 30d, same     {_percent(s['recurrence_30d']['same_topic']):>15}",
        f"  recurrence 30d, any      {_percent(s['recurrence_30d']['any_topic']):>15}",
        "CSAT (share 4-5, mean, n, response rate)",
    ]
    for path, c in s["csat"].items():
        lines.append(_csat_line(path, c))
        for part in ("ai_part", "human_part"):
            if part in c:
                lines.append(_csat_line(f"  {part}", c[part]))
    h = s["handoff"]
    lines += [
        "Handoff",
        f"  handoffs                 {h['handoffs']:>7}",
        f"  wait p50 / p90           {_number(h['wait_p50_s'], ' s'):>9} / "
        f"{_number(h['wait_p90_s'], ' s')}",
        f"  repeated themselves      {_percent(h['repeat_rate']):>15}",
    ]
    return lines


def _csat_line(name: str, c: dict[str, Any]) -> str:
    return (
        f"  {name:<24} {_percent(c['share_4_5']):>7}  {_number(c['mean']):>4}  "
        f"n {c['n']:<6} {_percent(c['response_rate']):>6}"
    )
