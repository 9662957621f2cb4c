"""The daily rollups (OutcomeDay) the reports read: rebuilt per UTC day from Contact rows, for
the days classify marked dirty (DirtyDay) when a contact that ended on them changed.

A day is claimed by deleting its DirtyDay row in the transaction that rebuilds it: a contact
that changes meanwhile marks the day again (once the claim commits) and the next refresh
rebuilds it again, so no change is lost.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from datetime import UTC, date, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import TruncDate

from outcomes.models import Contact, DirtyDay, OutcomeDay
from outcomes.sums import KEYS, contact_sums, day_start, sums_rows, with_csat

# Days rebuilt per transaction (and per query).
DAYS_PER_BATCH = 31


def _claim(days: list[date] | None, *, limit: int) -> list[date]:
    """Take up to `limit` dirty days (or the given ones) off DirtyDay, oldest first. Call in a
    transaction; on PostgreSQL another refresh running at once skips the days this one took."""
    dirty = DirtyDay.objects.order_by("day")
    if days is not None:
        dirty = dirty.filter(day__in=days)
    if connection.features.has_select_for_update_skip_locked:
        dirty = dirty.select_for_update(skip_locked=True)
    claimed = list(dirty.values_list("day", flat=True)[:limit])
    DirtyDay.objects.filter(day__in=claimed).delete()
    return claimed


# pg_advisory_xact_lock(namespace, day): one rebuild of a day at a time.
_LOCK_NAMESPACE = 1212


def _lock(days: list[date]) -> None:
    """Wait for any other rebuild of these days to commit (PostgreSQL): two rebuilds of one
    day at once would both insert its rows. In day order, so two batches cannot deadlock."""
    if connection.vendor != "postgresql" or not days:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, d) FROM unnest(%s::int[]) AS d ORDER BY d",
            [_LOCK_NAMESPACE, sorted(d.toordinal() for d in days)],
        )


def _rebuild(days: list[date]) -> int:
    """Replace the OutcomeDay rows of these days. Returns the rows written. Call in a
    transaction."""
    if not days:
        return 0
    _lock(days)
    OutcomeDay.objects.filter(day__in=days).delete()
    ended_on = functools.reduce(
        operator.or_,
        (
            Q(ended_at__gte=day_start(d), ended_at__lt=day_start(d + timedelta(days=1)))
            for d in days
        ),
    )
    contacts = with_csat(Contact.objects.filter(ended_on).exclude(path="")).annotate(
        day=TruncDate("ended_at", tzinfo=UTC)
    )
    rows = sums_rows(contacts, ("day", *KEYS), contact_sums())
    OutcomeDay.objects.bulk_create((OutcomeDay(**row) for row in rows), batch_size=1000)
    return len(rows)


def rollups_refresh(*, days: Iterable[date] | None = None, max_days: int | None = None) -> int:
    """Rebuild the rollups of the dirty days (all of them, or at most `max_days`), or of the
    given `days` whether marked or not. Returns how many days were rebuilt."""
    if days is not None:
        wanted = sorted(set(days))
        done = 0
        for start in range(0, len(wanted), DAYS_PER_BATCH):
            batch = wanted[start : start + DAYS_PER_BATCH]
            with transaction.atomic():
                _claim(batch, limit=len(batch))
                _rebuild(batch)
            done += len(batch)
        return done
    done = 0
    while max_days is None or done < max_days:
        limit = DAYS_PER_BATCH if max_days is None else min(DAYS_PER_BATCH, max_days - done)
        with transaction.atomic():
            batch = _claim(None, limit=limit)
            if not batch:
                break
            _rebuild(batch)
        done += len(batch)
    return done


def rollups_rebuild_all() -> int:
    """Rebuild every day some contact ended on (after a change of the sums' definitions)."""
    days = (
        Contact.objects.exclude(ended_at=None)
        .annotate(day=TruncDate("ended_at", tzinfo=UTC))
        .values_list("day", flat=True)
        .distinct()
    )
    stale = set(OutcomeDay.objects.values_list("day", flat=True).distinct())
    return rollups_refresh(days=set(days) | stale)
