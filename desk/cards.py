"""Queue cards: what one card on the live queue shows, worked out in Python.

A queue page shows up to a hundred cards; computing each card's words once here, rather than
through a dozen template filters and lookups per card, keeps the page inside its time budget.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.timesince import timesince, timeuntil

from desk.selectors import (
    QUEUE_PAGE_SIZE,
    QueueQuery,
    QueueScope,
    queue_count,
    queue_for_agent,
    queue_view_counts,
)
from desk.templatetags.desk_tags import sentiment_label, trend_arrow
from desk.templatetags.desk_text import topic_label
from escalation.cases.related import cases_related_open
from escalation.cases.routing import AGING_MINUTES_PER_POINT, sla_phrase, sla_state
from escalation.models import Case


@dataclass(frozen=True)
class QueueCard:
    pk: int
    url: str
    priority: int
    # What the queue sorts by: the priority plus a point per AGING_MINUTES_PER_POINT waited.
    rank: int
    aging: int
    band: str
    sla: str
    topic: str
    team: str
    reason: str
    sentiment: str
    sentiment_title: str
    trend: str
    queued_at: datetime | None
    waiting: str
    customer: str
    conversation: str
    summary: str
    assignee: str
    due: str
    due_short: str
    status: str
    status_label: str
    # How many other open cases the same customer has (escalation/cases/related.py).
    related_open: int = 0

    @property
    def sentiment_class(self) -> str:
        return self.sentiment.replace(" ", "-")


def _band(priority: int) -> str:
    return "high" if priority >= 75 else "normal" if priority >= 40 else "low"


def _rank(case: Case, now: datetime) -> int:
    """The queue's order key (due_key: queued `priority` minutes early) read back as points
    at `now`, so a list in due_key order shows non-increasing numbers."""
    if case.due_key is None:
        return case.priority
    minutes = (now - case.due_key).total_seconds() / 60
    return int(minutes // AGING_MINUTES_PER_POINT)


def _due_short(case: Case, now: datetime) -> str:
    """The first-reply deadline for a narrow column: "in 4 minutes", "overdue 2 minutes"."""
    if case.first_response_at is not None:
        return "answered"
    if case.sla_due_at is None:
        return ""
    if now >= case.sla_due_at:
        if now - case.sla_due_at < timedelta(minutes=1):
            return "just overdue"
        return f"overdue {timesince(case.sla_due_at, now, depth=1)}"
    if case.sla_due_at - now < timedelta(minutes=1):
        return "in under a minute"
    return f"in {timeuntil(case.sla_due_at, now, depth=1)}"


def _reason(case: Case) -> str:
    if case.rule is not None:
        return case.rule.name
    if case.trigger == Case.Trigger.RETURNED:
        return case.get_trigger_display()
    return f"{case.get_trigger_display()}: {_words(case.reason)}"


def _words(reason: str) -> str:
    """A platform's reason code reads as words ("customer_request": "customer request"); a
    reason a platform wrote as a sentence is kept as it is."""
    if " " in reason.strip() or not re.fullmatch(r"[A-Za-z0-9_.-]+", reason):
        return reason
    return " ".join(reason.replace("_", " ").replace("-", " ").split()).lower()


def _customer(case: Case) -> str:
    ref = case.conversation.customer
    if ref is None:
        return "Unknown customer"
    return ref.name or ref.email or ref.external_id or "Unknown customer"


def _assignee(user: Any) -> str:
    if user is None:
        return "Unassigned"
    return user.get_full_name() or user.username


def queue_cards(cases: Iterable[Case], now: datetime | None = None) -> list[QueueCard]:
    """The cards for `cases` (with conversation, customer, assignee and rule selected)."""
    now = now or timezone.now()
    cases = list(cases)
    related = cases_related_open(cases=cases)
    cards = []
    for case in cases:
        rank = _rank(case, now)
        cards.append(
            QueueCard(
                pk=case.pk,
                url=reverse("desk:case", args=[case.pk]),
                priority=case.priority,
                rank=rank,
                aging=rank - case.priority,
                band=_band(case.priority),
                sla=sla_state(case, now),
                topic=topic_label(case.topic),
                team=topic_label(case.team),
                reason=_reason(case),
                sentiment=sentiment_label(case.sentiment),
                sentiment_title=f"Sentiment {case.sentiment:.2f}, trend {case.sentiment_trend:.2f}",
                trend=trend_arrow(case.sentiment_trend),
                queued_at=case.queued_at,
                waiting=timesince(case.queued_at, now, depth=1) if case.queued_at else "",
                customer=_customer(case),
                conversation=case.conversation.external_id,
                summary=Truncator(case.summary_line or case.note).chars(160),
                assignee=_assignee(case.assignee),
                due=sla_phrase(case, now),
                due_short=_due_short(case, now),
                status=case.status,
                status_label=case.get_status_display(),
                related_open=related.get(case.pk, 0),
            )
        )
    return cards


# Stands in for the viewer's "Mine" count in a render shared by a team's sockets; each socket
# puts its own number in (desk/consumers.py). Characters no template output contains.
MINE_COUNT_MARK = "\u2063mine\u2063"


@dataclass(frozen=True)
class QueueTab:
    view: str
    label: str
    count: int | str
    href: str
    current: bool


@dataclass(frozen=True)
class QueuePager:
    page: int
    pages: int
    first: int
    last: int
    previous: str
    next: str
    links: list[tuple[int | None, str]]


def _page_numbers(page: int, pages: int) -> list[int | None]:
    """The page numbers a pager offers: the first, the last and those near `page`; None for
    a gap."""
    wanted = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    numbers: list[int | None] = []
    for number in wanted:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def queue_href(query: QueueQuery, **changes: Any) -> str:
    """The queue page's address for `query` with `changes`."""
    wanted = replace(query, **changes)
    params = QueryDict(mutable=True)
    for name, value in wanted.params().items():
        params[name] = str(value)
    return f"{reverse('desk:queue')}?{params.urlencode()}"


def queue_tabs(
    *, scope: QueueScope, query: QueueQuery, counts: dict[str, int | None]
) -> list[QueueTab]:
    return [
        QueueTab(
            view=view.value,
            label=view.label,
            count=MINE_COUNT_MARK if counts.get(view.value) is None else counts[view.value],
            href=queue_href(query, view=view.value, page=1),
            current=view.value == query.view,
        )
        for view in scope.views()
    ]


def queue_context(
    *, user: Any, scope: QueueScope, query: QueueQuery, now: datetime | None = None
) -> dict[str, Any]:
    """What the queue list shows: the page of cards, its total and the view tabs with their
    counts. `user` None: the list every agent of `scope.teams` shares (with a mark for their
    own "Mine" count)."""
    now = now or timezone.now()
    counts = queue_view_counts(user=user, scope=scope, now=now)
    total = queue_count(user=user, scope=scope, query=query, now=now)
    pages = max(1, -(-total // QUEUE_PAGE_SIZE))
    # A page emptied by cases closing shows the last page there is, not nothing.
    query = replace(query, page=min(query.page, pages))
    cases = queue_cards(queue_for_agent(user=user, scope=scope, query=query, now=now), now)
    first = (query.page - 1) * QUEUE_PAGE_SIZE
    return {
        "cases": cases,
        "total": total,
        "pager": QueuePager(
            page=query.page,
            pages=pages,
            first=first + 1,
            last=first + len(cases),
            previous=queue_href(query, page=query.page - 1) if query.page > 1 else "",
            next=queue_href(query, page=query.page + 1) if query.page < pages else "",
            links=[
                (number, queue_href(query, page=number) if number else "")
                for number in _page_numbers(query.page, pages)
            ],
        ),
        "tabs": queue_tabs(scope=scope, query=query, counts=counts),
        "query": query,
        # An empty view says whether the whole queue is empty or just this view.
        "any_open": any(count for count in counts.values() if count),
        "ws_path": f"/ws/desk/queue/?{queue_href(query).partition('?')[2]}",
    }
