"""The figures of the metrics page, `manage.py metrics` and GET /api/v1/metrics: selectors over
the daily rollups (OutcomeDay), reading Contact only for wait percentiles and for the
conversations behind a figure (contacts_for). The definitions are in docs/metrics.md.

Every rate is a float in [0, 1], or None when its denominator is 0.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connection, transaction
from django.db.models import Aggregate, FloatField, Q, QuerySet

from outcomes.filters import Filters
from outcomes.models import Contact, HumanEnd, Outcome, OutcomeDay, Path
from outcomes.studies import churn_report, handoff_gap_report
from outcomes.sums import (
    CHURN_ELIGIBLE,
    FACTORS,
    OUTCOME_KEYS,
    contacts_in,
    csat_rating,
    grouped,
    outcome_key,
    rate,
    reading_contacts,
    reading_from_contacts,
    total,
)

__all__ = [
    "OUTCOME_KEYS",
    "Filters",
    "churn_report",
    "contacts_for",
    "csat_by_path",
    "filter_choices",
    "handoff_gap_report",
    "metrics_summary",
    "outcome_key",
    "outcome_mix",
    "reading_contacts",
    "trends",
]

PATHS = tuple(Path.values)
OUTCOME_Q: dict[str, Q] = {
    "ai_resolved_confirmed": Q(
        outcome=Outcome.AI_RESOLVED, confirmed=True, abandoned_in_queue=False
    ),
    "ai_resolved_assumed": Q(
        outcome=Outcome.AI_RESOLVED, confirmed=False, abandoned_in_queue=False
    ),
    "deflected": Q(outcome=Outcome.DEFLECTED, abandoned_in_queue=False),
    "abandoned": Q(outcome=Outcome.ABANDONED, abandoned_in_queue=False),
    "abandoned_in_queue": Q(abandoned_in_queue=True),
    "escalated": Q(outcome=Outcome.ESCALATED, abandoned_in_queue=False),
}
# A week-by-week mix beyond this many days.
MIX_DAILY_MAX_DAYS = 60
_OUTCOME_BY = ("outcome", "confirmed", "abandoned_in_queue")
_TREND_COLUMNS = ("resolved", "fcr", "recurred_30d_same", "recurred_30d_any")
_CSAT_COLUMNS = (
    "contacts",
    *(f"rating_{r}" for r in range(1, 6)),
    *(f"{p}{c}" for p in ("", "ai_", "human_") for c in ("rated", "rating_sum", "rating_45")),
)


def _row_outcome(row: dict[str, Any]) -> str:
    return outcome_key(
        outcome=row["outcome"],
        confirmed=row["confirmed"],
        abandoned_in_queue=row["abandoned_in_queue"],
    )


def _csat(s: dict[str, int], prefix: str = "") -> dict[str, Any]:
    rated = s[f"{prefix}rated"]
    return {
        "n": rated,
        "share_4_5": rate(s[f"{prefix}rating_45"], rated),
        "mean": rate(s[f"{prefix}rating_sum"], rated),
        "response_rate": rate(rated, s["contacts"]),
    }


def _csat_paths(rows: list[dict[str, Any]], *, distribution: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in PATHS:
        s = total(rows, path=path)
        block = _csat(s)
        if distribution:
            block["contacts"] = s["contacts"]
            block["distribution"] = {str(r): s[f"rating_{r}"] for r in range(1, 6)}
        if path == Path.AI_THEN_HUMAN:
            block["ai_part"] = _csat(s, "ai_")
            block["human_part"] = _csat(s, "human_")
        out[path] = block
    return out


class _Percentiles(Aggregate):
    """PostgreSQL's percentile_cont of several fractions at once: one sort."""

    function = "percentile_cont"
    template = "%(function)s(ARRAY[%(fractions)s]) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = ArrayField(FloatField())


# The sort of a long range's waits stays in memory (the default 4 MB spills to disk).
PERCENTILE_WORK_MEM = "64MB"


def _percentile(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont: linear between the two nearest ranks."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def wait_percentiles(filters: Filters) -> tuple[float | None, float | None]:
    """The median and 90th percentile of the wait from handoff to the first human reply, in
    seconds, over the filters' contacts that had one: exact, from Contact (on PostgreSQL from
    the index outcome_contact_wait_idx alone). One query (two on PostgreSQL)."""
    qs = contacts_in(filters).filter(wait_seconds__isnull=False)
    if connection.vendor == "postgresql":
        # No savepoint inside a caller's transaction: SET LOCAL lasts to its end, harmlessly.
        with transaction.atomic(savepoint=False):
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL work_mem = '{PERCENTILE_WORK_MEM}'")
            got = qs.aggregate(p=_Percentiles("wait_seconds", fractions="0.5, 0.9"))["p"]
        return (got[0], got[1]) if got else (None, None)
    waits = sorted(qs.values_list("wait_seconds", flat=True))
    return _percentile(waits, 0.5), _percentile(waits, 0.9)


def metrics_summary(filters: Filters) -> dict[str, Any]:
    """The issue's §6 object, with the filters echoed. Two queries (three on PostgreSQL)."""
    rows = grouped(filters, ("path", *_OUTCOME_BY, "human_end"))
    s = total(rows)
    outcomes = dict.fromkeys(OUTCOME_KEYS, 0)
    by_end = dict.fromkeys(HumanEnd.values, 0)
    for row in rows:
        key = _row_outcome(row)
        outcomes[key] += row["contacts"]
        if key == "escalated" and row["human_end"] in by_end:
            by_end[row["human_end"]] += row["contacts"]
    p50, p90 = wait_percentiles(filters)
    return {
        "filters": filters.as_dict(),
        "conversations": s["contacts"],
        "paths": {path: total(rows, path=path)["contacts"] for path in PATHS},
        "outcomes": outcomes,
        "escalated_by_human_end": by_end,
        "resolved": s["resolved"],
        "fcr": rate(s["fcr"], s["resolved"]),
        "recurrence_30d": {
            "same_topic": rate(s["recurred_30d_same"], s["resolved"]),
            "any_topic": rate(s["recurred_30d_any"], s["resolved"]),
        },
        "csat": _csat_paths(rows, distribution=False),
        "handoff": {
            "handoffs": s["handoffs"],
            "wait_p50_s": p50,
            "wait_p90_s": p90,
            "repeat_rate": rate(s["repeated"], s["handoffs"]),
        },
    }


def _periods(filters: Filters, *, weekly: bool) -> list[date]:
    """The first day of each period in the range: the days, or the weeks' Mondays."""
    first = filters.since - timedelta(days=filters.since.weekday()) if weekly else filters.since
    step = timedelta(days=7 if weekly else 1)
    out = []
    while first <= filters.until:
        out.append(first)
        first += step
    return out


def _period_of(day: date, *, weekly: bool) -> date:
    return day - timedelta(days=day.weekday()) if weekly else day


def outcome_mix(filters: Filters) -> list[dict[str, Any]]:
    """Contacts per outcome key, per day (per week, from its Monday, beyond 60 days); every
    period of the range is there, empty ones with zeros. One query."""
    weekly = filters.days > MIX_DAILY_MAX_DAYS
    mix = {p: dict.fromkeys(OUTCOME_KEYS, 0) for p in _periods(filters, weekly=weekly)}
    for row in grouped(filters, ("day", *_OUTCOME_BY), ("contacts",)):
        mix[_period_of(row["day"], weekly=weekly)][_row_outcome(row)] += row["contacts"]
    return [
        {"period": p.isoformat(), "total": sum(counts.values()), **counts}
        for p, counts in mix.items()
    ]


def trends(filters: Filters) -> list[dict[str, Any]]:
    """FCR and 30-day recurrence per week (from its Monday): n is the week's resolved
    contacts, every rate's denominator. One query."""
    weeks = {p: [] for p in _periods(filters, weekly=True)}
    rows = grouped(filters, ("day",), _TREND_COLUMNS)
    for row in rows:
        weeks[_period_of(row["day"], weekly=True)].append(row)
    out = []
    for week, week_rows in weeks.items():
        s = total(week_rows)
        out.append(
            {
                "period": week.isoformat(),
                "n": s["resolved"],
                "fcr": rate(s["fcr"], s["resolved"]),
                "recurrence_30d_same": rate(s["recurred_30d_same"], s["resolved"]),
                "recurrence_30d_any": rate(s["recurred_30d_any"], s["resolved"]),
            }
        )
    return out


def csat_by_path(filters: Filters) -> dict[str, Any]:
    """CSAT per path as in the summary, with each path's contacts and how many rated it
    1..5 (`distribution`, keys "1".."5"). One query."""
    return _csat_paths(grouped(filters, ("path",), _CSAT_COLUMNS), distribution=True)


def filter_choices() -> dict[str, list[str]]:
    """The topics, teams and tiers there are contacts of (blank left out). Three queries."""
    model: Any = Contact if reading_from_contacts() else OutcomeDay
    return {
        f"{field}s": list(
            model.objects.exclude(**{field: ""})
            .order_by(field)
            .values_list(field, flat=True)
            .distinct()
        )
        for field in ("topic", "team", "tier")
    }


# The conversations behind a figure: figure key -> the contacts it counts (docs/metrics.md,
# "Figures"). Keys with a parameter are "<prefix>:<value>".
def _csat_figure(value: str) -> Q:
    path, _, part = value.partition(":")
    if path not in PATHS:
        raise ValueError(path)
    base = Q(path=path)
    if part == "":
        return base & Q(csat__isnull=False)
    if part in {"ai_part", "human_part"} and path == Path.AI_THEN_HUMAN:
        return base & Q(**{f"rating_{part[:-5]}__isnull": False})
    if part in {"1", "2", "3", "4", "5"}:
        return base & Q(csat=int(part))
    if part == "4_5":
        return base & Q(csat__gte=4)
    raise ValueError(part)


def _churn_figure(value: str) -> Q:
    measure, _, group = value.partition(":")
    if measure not in {"eligible", "repurchase", "cancel"}:
        raise ValueError(measure)
    q = CHURN_ELIGIBLE
    if measure == "repurchase":
        q &= Q(repurchased_60d=True)
    elif measure == "cancel":
        q &= Q(cancelled_60d=True)
    return q & _group_q(group) if group else q


def _group_q(group: str) -> Q:
    if group in PATHS:
        return Q(path=group)
    if group in OUTCOME_Q:
        return OUTCOME_Q[group]
    raise ValueError(group)


def _gap_figure(value: str) -> Q:
    factor, _, without = value.partition(":")
    if factor in {Path.AI_THEN_HUMAN, Path.HUMAN_DIRECT} and not without:
        return Q(path=factor, csat__isnull=False)
    if factor not in FACTORS or without not in {"", "without"}:
        raise ValueError(value)
    has = FACTORS[factor] if not without else ~FACTORS[factor]
    return Q(path=Path.AI_THEN_HUMAN) & has


_FIGURES: dict[str, Q] = {
    "all": Q(),
    "resolved": Q(resolved=True),
    "fcr": Q(resolved=True, fcr=True),
    "fcr:not": Q(resolved=True, fcr=False),
    "recurrence_30d:same_topic": Q(resolved=True, recurred_30d_same=True),
    "recurrence_30d:any_topic": Q(resolved=True, recurred_30d_any=True),
    "durable:not": Q(resolved=True, recurred_30d_same=True),
    "handoff": Q(handoff_at__isnull=False),
    "handoff:waited": Q(wait_seconds__isnull=False),
    "repeat": Q(repeated=True),
}
_FIGURE_PREFIXES: dict[str, Callable[[str], Q]] = {
    "path": lambda v: Q(path=v) if v in PATHS else _bad(v),
    "outcome": lambda v: OUTCOME_Q[v] if v in OUTCOME_Q else _bad(v),
    "human_end": lambda v: (
        Q(outcome=Outcome.ESCALATED, human_end=v) if v in HumanEnd.values else _bad(v)
    ),
    "csat": _csat_figure,
    "churn": _churn_figure,
    "gap": _gap_figure,
}


def _bad(value: str) -> Q:
    raise ValueError(value)


def contacts_for(figure: str, filters: Filters) -> QuerySet[Contact]:
    """The filters' contacts that a figure counts, newest first. Raises ValueError for a
    figure key docs/metrics.md ("Figures") does not list."""
    if figure in _FIGURES:
        q = _FIGURES[figure]
    else:
        prefix, _, value = figure.partition(":")
        if prefix not in _FIGURE_PREFIXES or not value:
            raise ValueError(f"unknown figure {figure!r}")
        try:
            q = _FIGURE_PREFIXES[prefix](value)
        except (ValueError, KeyError):
            raise ValueError(f"unknown figure {figure!r}") from None
    qs = contacts_in(filters).annotate(csat=csat_rating())
    return qs.filter(q).order_by("-ended_at", "-pk")
