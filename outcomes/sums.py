"""The sums every report is built from, defined once for both places they are read from:
Contact rows (direct) and the daily OutcomeDay rollups (outcomes/rollups.py builds each
OutcomeDay row with these same expressions, so both give the same figures).

The handoff factors' thresholds are fixed here, not tuned to any data (docs/metrics.md,
"Reports"). Changing one needs a full rollup rebuild (`rollups_refresh(days=...)`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db.models import (
    Case,
    Count,
    F,
    PositiveSmallIntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate

from outcomes.filters import Filters
from outcomes.models import Contact, Outcome, OutcomeDay, Path

# A wait after the handoff longer than five minutes is long (a chat customer's patience, the
# usual first-reply target of chat desks), and so is more than three minutes with the AI first.
WAIT_LONG_S = 300.0
AI_LONG_S = 180.0
# Strata with fewer contacts than this are flagged: their rates move a lot by chance.
SMALL_STRATUM = 20
CHURN_DAYS = 60

# What an OutcomeDay row is keyed by, besides its day.
KEYS = (
    "topic",
    "team",
    "tier",
    "path",
    "outcome",
    "human_end",
    "confirmed",
    "abandoned_in_queue",
)
FACTORS: dict[str, Q] = {
    "wait_long": Q(wait_seconds__gt=WAIT_LONG_S),
    "ai_long": Q(ai_seconds__gt=AI_LONG_S),
    "repeated": Q(repeated=True),
    "cold_greeting": Q(cold_greeting=True),
}
CHURN_ELIGIBLE = Q(repurchased_60d__isnull=False, cancelled_60d__isnull=False)
# The outcome mix: each contact in exactly one of these.
OUTCOME_KEYS = (
    "ai_resolved_confirmed",
    "ai_resolved_assumed",
    "deflected",
    "abandoned",
    "abandoned_in_queue",
    "escalated",
)


def outcome_key(*, outcome: str, confirmed: bool, abandoned_in_queue: bool) -> str:
    """Which of OUTCOME_KEYS a contact counts in: leaving the queue for a human is reported
    apart from the rest, whatever outcome it was classified as."""
    if abandoned_in_queue:
        return "abandoned_in_queue"
    if outcome == Outcome.AI_RESOLVED:
        return "ai_resolved_confirmed" if confirmed else "ai_resolved_assumed"
    return outcome


def csat_rating() -> Case:
    """A contact's rating for CSAT: the overall one; without it, the part that ended the
    contact (the AI's for ai_only, the person's for human_direct and ai_then_human: Baton's
    own survey asks the parts only). Its parts are also reported on their own."""
    return Case(
        When(rating__isnull=False, then=F("rating")),
        When(path=Path.AI_ONLY, then=F("rating_ai")),
        When(path__in=(Path.HUMAN_DIRECT, Path.AI_THEN_HUMAN), then=F("rating_human")),
        default=Value(None),
        output_field=PositiveSmallIntegerField(),
    )


def _rating_sums(prefix: str, field: str) -> dict[str, Any]:
    rated = Q(**{f"{field}__isnull": False})
    return {
        f"{prefix}rated": Count("pk", filter=rated),
        f"{prefix}rating_sum": Sum(field, default=0),
        f"{prefix}rating_45": Count("pk", filter=Q(**{f"{field}__gte": 4})),
    }


def contact_sums() -> dict[str, Any]:
    """Aggregates over Contact rows annotated with `csat` (csat_rating())."""
    sums: dict[str, Any] = {
        "contacts": Count("pk"),
        "resolved": Count("pk", filter=Q(resolved=True)),
        "fcr": Count("pk", filter=Q(resolved=True, fcr=True)),
        # Recurrences are counted among resolved contacts: a resolution that recurs is not
        # durable.
        "recurred_7d_same": Count("pk", filter=Q(resolved=True, recurred_7d_same=True)),
        "recurred_30d_same": Count("pk", filter=Q(resolved=True, recurred_30d_same=True)),
        "recurred_30d_any": Count("pk", filter=Q(resolved=True, recurred_30d_any=True)),
        **_rating_sums("", "csat"),
        **{f"rating_{r}": Count("pk", filter=Q(csat=r)) for r in range(1, 6)},
        **_rating_sums("ai_", "rating_ai"),
        **_rating_sums("human_", "rating_human"),
        "handoffs": Count("pk", filter=Q(handoff_at__isnull=False)),
        "churn_eligible": Count("pk", filter=CHURN_ELIGIBLE),
        "repurchased": Count("pk", filter=CHURN_ELIGIBLE & Q(repurchased_60d=True)),
        "cancelled": Count("pk", filter=CHURN_ELIGIBLE & Q(cancelled_60d=True)),
    }
    for name, has in FACTORS.items():
        sums[name] = Count("pk", filter=has)
        sums[f"{name}_rated"] = Count("pk", filter=has & Q(csat__isnull=False))
        sums[f"{name}_45"] = Count("pk", filter=has & Q(csat__gte=4))
    return sums


SUM_COLUMNS: tuple[str, ...] = tuple(contact_sums())


def day_start(day: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def contacts_in(filters: Filters) -> QuerySet[Contact]:
    """The contacts that ended in the filters' days, with their topic, team and tier."""
    qs = Contact.objects.filter(
        ended_at__gte=day_start(filters.since),
        ended_at__lt=day_start(filters.until + timedelta(days=1)),
    ).exclude(path="")
    return qs.filter(**_dimensions(filters))


def with_csat(qs: QuerySet[Contact]) -> QuerySet[Contact]:
    return qs.annotate(csat=csat_rating())


def _dimensions(filters: Filters) -> dict[str, str]:
    return {k: v for k in ("topic", "team", "tier") if (v := getattr(filters, k))}


# Where the reports read their sums: "rollups" (OutcomeDay) or "contacts" (Contact rows,
# for checking the rollups against).
_source: ContextVar[str] = ContextVar("outcomes_sums_source", default="rollups")


@contextlib.contextmanager
def reading_contacts() -> Iterator[None]:
    """Within it, the reports compute their sums from Contact rows instead of OutcomeDay."""
    token = _source.set("contacts")
    try:
        yield
    finally:
        _source.reset(token)


def reading_from_contacts() -> bool:
    return _source.get() == "contacts"


def grouped(
    filters: Filters, by: Sequence[str] = (), columns: Sequence[str] = SUM_COLUMNS
) -> list[dict[str, Any]]:
    """The sums (`columns`, all by default) of the filters' contacts, one dict per distinct
    value of `by` (a subset of "day" and KEYS), in one query. Every sum is an int (0 when
    nothing matched)."""
    if reading_from_contacts():
        qs: QuerySet[Any] = with_csat(contacts_in(filters))
        if "day" in by:
            qs = qs.annotate(day=TruncDate("ended_at", tzinfo=UTC))
        every = contact_sums()
        sums = {c: every[c] for c in columns}
    else:
        qs = OutcomeDay.objects.filter(
            day__gte=filters.since, day__lte=filters.until, **_dimensions(filters)
        )
        sums = {c: Sum(c, default=0) for c in columns}
    return sums_rows(qs, by, sums)


def sums_rows(qs: QuerySet[Any], by: Sequence[str], sums: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the aggregates, grouped by `by`. Their aliases are prefixed in SQL, where several
    would shadow the model's fields of the same name (resolved, fcr, repeated, ...)."""
    aliased = {f"sum__{name}": expression for name, expression in sums.items()}
    if by:
        rows = list(qs.values(*by).annotate(**aliased).order_by(*by))
    else:
        rows = [qs.aggregate(**aliased)]
    return [
        {
            **{k: v for k, v in row.items() if not k.startswith("sum__")},
            **{name: int(row[f"sum__{name}"] or 0) for name in sums},
        }
        for row in rows
    ]


def total(rows: Sequence[dict[str, Any]], **match: Any) -> dict[str, int]:
    """The column sums of the rows whose keys equal `match` (the columns the rows have)."""
    columns = [c for c in SUM_COLUMNS if c in rows[0]] if rows else SUM_COLUMNS
    out = dict.fromkeys(columns, 0)
    for row in rows:
        if all(row[k] == v for k, v in match.items()):
            for column in columns:
                out[column] += row[column]
    return out


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None
