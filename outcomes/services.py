"""The only writer of Contact and DirtyDay rows: classify what changed, upsert, mark the days
whose rollups are stale (docs/metrics.md)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, fields
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from conversations.models import Conversation
from outcomes.classify import (
    CHURN_WINDOW,
    INACTIVE_AFTER,
    RECUR_LONG,
    ContactFacts,
    churn_flags,
    classify,
    contact_end,
)
from outcomes.history import ContactHistory, LaterContact, history_load, store_activity_load
from outcomes.models import Contact, DirtyDay

_FACT_FIELDS = [f.name for f in fields(ContactFacts)]
# How many contacts one sweep pass handles of each kind; the next pass takes the rest.
SWEEP_BATCH = 500
OPEN_REFRESH_EVERY = timedelta(minutes=5)
CHURN_FILL_SECONDS = 20.0


def contact_day(ended_at: datetime) -> date:
    """The day a contact counts on: the UTC date of its end."""
    return ended_at.astimezone(UTC).date()


def days_dirty_mark(days: Iterable[date]) -> None:
    """The rollups of these days are stale (rollups_refresh rebuilds them)."""
    unique = sorted(set(days))
    if not unique:
        return
    now = timezone.now()
    DirtyDay.objects.bulk_create(
        [DirtyDay(day=day, marked_at=now) for day in unique],
        update_conflicts=True,
        unique_fields=["day"],
        update_fields=["marked_at"],
    )


def contacts_save(facts: list[tuple[int, ContactFacts]]) -> None:
    """Upsert the contacts of these conversations (conversation id, facts) in bulk, and mark
    the ended days, old and new, dirty. Running it twice changes nothing the second time."""
    if not facts:
        return
    ids = [conversation_id for conversation_id, _ in facts]
    days = {
        contact_day(ended)
        for ended in Contact.objects.filter(
            conversation_id__in=ids, ended_at__isnull=False
        ).values_list("ended_at", flat=True)
    }
    now = timezone.now()
    rows = []
    for conversation_id, fact in facts:
        if fact.ended_at is not None:
            days.add(contact_day(fact.ended_at))
        rows.append(Contact(conversation_id=conversation_id, computed_at=now, **asdict(fact)))
    Contact.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["conversation"],
        update_fields=[*_FACT_FIELDS, "computed_at"],
        batch_size=1000,
    )
    days_dirty_mark(days)


def _later(history: ContactHistory) -> list[LaterContact]:
    if not history.customer_key:
        return []
    rows = (
        Contact.objects.filter(
            customer_key=history.customer_key, started_at__gte=history.started_at
        )
        .exclude(conversation_id=history.conversation_id)
        .values_list("started_at", "topic")
    )
    return [LaterContact(started_at=started, topic=topic) for started, topic in rows]


def _facts(history: ContactHistory, *, now: datetime) -> ContactFacts:
    ended_at, _ = contact_end(history, now=now)
    activity = None
    if ended_at is not None and history.account_id and now >= ended_at + CHURN_WINDOW:
        activity = store_activity_load(account_ids=[history.account_id])[history.account_id]
    return classify(history, later=_later(history), now=now, activity=activity)


def contact_refresh(
    *, conversation_id: int, now: datetime | None = None, earlier: bool = True
) -> Contact:
    """Classify the conversation as of now and store its contact. When the contact is new, or
    who, when or what it is about changed, the same customer's contacts that ended in the 30
    days before it started are refreshed too: this one may be their recurrence."""
    now = now or timezone.now()
    history = history_load(conversation_id=conversation_id)
    before = (
        Contact.objects.filter(conversation_id=conversation_id)
        .values("customer_key", "topic", "started_at")
        .first()
    )
    facts = _facts(history, now=now)
    contacts_save([(conversation_id, facts)])
    identity = {"customer_key": facts.customer_key, "topic": facts.topic}
    identity["started_at"] = facts.started_at
    if earlier and before != identity:
        keys = {facts.customer_key, (before or {}).get("customer_key", "")} - {""}
        earlier_ids = (
            Contact.objects.filter(
                customer_key__in=keys,
                ended_at__gte=facts.started_at - RECUR_LONG,
                ended_at__lte=facts.started_at,
            )
            .exclude(conversation_id=conversation_id)
            .values_list("conversation_id", flat=True)
        )
        for earlier_id in list(earlier_ids):
            contact_refresh(conversation_id=earlier_id, now=now, earlier=False)
    return Contact.objects.get(conversation_id=conversation_id)


def contacts_refresh(*, conversation_ids: Iterable[int], now: datetime | None = None) -> int:
    """Refresh the contacts of these conversations where something can have changed: a
    conversation without a contact yet, a closed one, or one whose contact had ended. An open
    conversation's messages decide nothing until it ends, so its contact (who, what topic) is
    refreshed at most every OPEN_REFRESH_EVERY, and ingest stays cheap. Returns how many were
    refreshed."""
    now = now or timezone.now()
    rows = Conversation.objects.filter(pk__in=list(conversation_ids)).values_list(
        "pk", "status", "contact__id", "contact__ended_at", "contact__computed_at"
    )
    due = [
        pk
        for pk, status, contact_id, ended_at, computed_at in rows
        if contact_id is None
        or status == Conversation.Status.CLOSED
        or ended_at is not None
        or computed_at <= now - OPEN_REFRESH_EVERY
    ]
    for conversation_id in sorted(due):
        contact_refresh(conversation_id=conversation_id, now=now)
    return len(due)


def contacts_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """End contacts idle 72 h, fill the 60-day churn flags once due, and catch up
    conversations that have no contact (a lost task). Safe to run at any time, twice."""
    now = now or timezone.now()
    idle = list(
        Contact.objects.filter(
            ended_at__isnull=True, conversation__updated_at__lte=now - INACTIVE_AFTER
        ).values_list("conversation_id", flat=True)[:SWEEP_BATCH]
    )
    missing = list(
        Conversation.objects.filter(
            contact__isnull=True, created_at__lte=now - timedelta(minutes=1)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for conversation_id in [*idle, *missing]:
        contact_refresh(conversation_id=conversation_id, now=now)
    return {
        "ended_inactive": Contact.objects.filter(
            conversation_id__in=idle, ended_at__isnull=False
        ).count(),
        "caught_up": len(missing),
        "churn_filled": _churn_fill_all(now=now),
    }


def _churn_fill_all(*, now: datetime) -> int:
    """Fill churn flags batch after batch, for up to CHURN_FILL_SECONDS: a backlog (a history
    loaded at once) drains over a few sweeps without holding one for long."""
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < CHURN_FILL_SECONDS:
        filled = _churn_fill(now=now)
        total += filled
        if filled < SWEEP_BATCH:
            break
    return total


def _churn_fill(*, now: datetime) -> int:
    """Fill repurchased_60d and cancelled_60d of contacts whose 60 days have passed, from the
    store; a contact no store account stands behind keeps them null."""
    due = list(
        Contact.objects.filter(ended_at__lte=now - CHURN_WINDOW, repurchased_60d__isnull=True)
        .exclude(account_id="")
        .only("conversation_id", "account_id", "ended_at")[:SWEEP_BATCH]
    )
    if not due:
        return 0
    activity = store_activity_load(account_ids=sorted({c.account_id for c in due}))
    changed: list[Contact] = []
    for contact in due:
        flags = churn_flags(
            ended_at=contact.ended_at, now=now, activity=activity[contact.account_id]
        )
        contact.repurchased_60d = flags["repurchased_60d"]
        contact.cancelled_60d = flags["cancelled_60d"]
        contact.computed_at = now
        changed.append(contact)
    Contact.objects.bulk_update(changed, ["repurchased_60d", "cancelled_60d", "computed_at"])
    days_dirty_mark(contact_day(c.ended_at) for c in changed)
    return len(changed)
