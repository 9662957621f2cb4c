"""The rollups give the figures a direct read of Contact gives, and stay fresh through
DirtyDay; the rollup task, the embedded loop and `manage.py metrics`."""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from config.celery import app
from outcomes import reports
from outcomes.models import Contact, DirtyDay, HumanEnd, Outcome, OutcomeDay, Path
from outcomes.reports import Filters, metrics_summary
from outcomes.rollup_tasks import refresh_rollups
from outcomes.rollups import rollups_rebuild_all, rollups_refresh
from outcomes.sums import reading_contacts
from tests.outcomes.reports_data import DAY, contact

pytestmark = pytest.mark.django_db

START = datetime(2026, 9, 1, tzinfo=UTC)


def _random_contacts(n: int, seed: int = 12) -> None:
    pick = random.Random(seed)
    for _ in range(n):
        path = pick.choice(Path.values)
        if path == Path.AI_ONLY:
            outcome = pick.choice([Outcome.AI_RESOLVED, Outcome.DEFLECTED, Outcome.ABANDONED])
        else:
            outcome = pick.choice([Outcome.ESCALATED, Outcome.ESCALATED, Outcome.ABANDONED])
        escalated = path != Path.AI_ONLY
        eligible = pick.random() < 0.6

        def maybe_rating() -> int | None:
            return pick.choice([None, None, 1, 2, 3, 4, 5, 5])

        contact(
            ended=START + timedelta(hours=pick.randrange(24 * 75)),
            path=path,
            outcome=outcome,
            topic=pick.choice(["shipping", "refund", "billing", ""]),
            team=pick.choice(["billing", "returns"]) if escalated else "",
            tier=pick.choice(["", "standard", "gold"]),
            human_end=pick.choice(HumanEnd.values) if escalated else "",
            confirmed=outcome == Outcome.AI_RESOLVED and pick.random() < 0.4,
            abandoned_in_queue=escalated and outcome == Outcome.ABANDONED,
            resolved=pick.random() < 0.6,
            fcr=pick.random() < 0.4,
            recurred_7d_same=pick.random() < 0.1,
            recurred_30d_same=pick.random() < 0.2,
            recurred_30d_any=pick.random() < 0.3,
            rating=maybe_rating(),
            rating_ai=maybe_rating(),
            rating_human=maybe_rating() if escalated else None,
            handoff_at=START if escalated else None,
            wait_seconds=pick.choice([None, 20.0, 200.0, 301.0, 900.0]) if escalated else None,
            ai_seconds=pick.choice([None, 10.0, 179.0, 181.0, 600.0]) if escalated else None,
            repeated=escalated and pick.random() < 0.3,
            cold_greeting=escalated and pick.random() < 0.2,
            repurchased_60d=pick.random() < 0.5 if eligible else None,
            cancelled_60d=pick.random() < 0.2 if eligible else None,
        )


FIGURES = (
    reports.metrics_summary,
    reports.outcome_mix,
    reports.trends,
    reports.csat_by_path,
    reports.churn_report,
    reports.handoff_gap_report,
)
FILTERS = (
    Filters(since=date(2026, 9, 1), until=date(2026, 11, 20)),
    Filters(since=date(2026, 9, 15), until=date(2026, 10, 14), topic="refund"),
    Filters(since=date(2026, 9, 1), until=date(2026, 9, 30), team="billing", tier="gold"),
)


def test_rollups_give_the_direct_figures() -> None:
    _random_contacts(300)
    assert rollups_rebuild_all() > 60
    for filters in FILTERS:
        for figure in FIGURES:
            with reading_contacts():
                direct = figure(filters)
            assert figure(filters) == direct, (figure.__name__, filters)
    with reading_contacts():
        direct_choices = reports.filter_choices()
    assert reports.filter_choices() == direct_choices


def test_dirty_days_are_rebuilt_and_cleared() -> None:
    first = contact(rating=5)
    second = contact(ended=DAY + timedelta(days=1), rating=1)
    DirtyDay.objects.bulk_create(
        [DirtyDay(day=DAY.date()), DirtyDay(day=DAY.date() + timedelta(1))]
    )
    assert rollups_refresh() == 2
    assert not DirtyDay.objects.exists()
    november = Filters(since=date(2026, 11, 1), until=date(2026, 11, 30))
    assert metrics_summary(november)["csat"]["ai_only"]["share_4_5"] == 0.5

    # A change is read once its day is marked dirty, and only then.
    Contact.objects.filter(pk=second.pk).update(rating=4)
    assert metrics_summary(november)["csat"]["ai_only"]["share_4_5"] == 0.5
    DirtyDay.objects.create(day=DAY.date() + timedelta(days=1))
    assert rollups_refresh() == 1
    assert metrics_summary(november)["csat"]["ai_only"]["share_4_5"] == 1.0

    # A contact that moves to another day leaves its old day empty.
    Contact.objects.filter(pk=first.pk).update(ended_at=DAY + timedelta(days=1))
    assert rollups_refresh(days=[DAY.date(), DAY.date() + timedelta(days=1)]) == 2
    assert not OutcomeDay.objects.filter(day=DAY.date()).exists()
    assert OutcomeDay.objects.get(day=DAY.date() + timedelta(days=1)).contacts == 2


def test_refresh_takes_at_most_max_days_oldest_first() -> None:
    DirtyDay.objects.bulk_create(DirtyDay(day=DAY.date() + timedelta(days=i)) for i in range(5))
    assert rollups_refresh(max_days=3) == 3
    assert list(DirtyDay.objects.values_list("day", flat=True).order_by("day")) == [
        DAY.date() + timedelta(days=3),
        DAY.date() + timedelta(days=4),
    ]
    assert rollups_refresh() == 2
    assert rollups_refresh() == 0


def test_the_task_runs_from_beat_and_twice_changes_nothing() -> None:
    assert "outcomes.rollup_tasks.refresh_rollups" in app.tasks
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-rollups"]
    assert entry["task"] == "outcomes.rollup_tasks.refresh_rollups"
    contact(rating=5)
    DirtyDay.objects.create(day=DAY.date())
    assert refresh_rollups.delay().get() == 1
    rows = list(OutcomeDay.objects.values())
    assert refresh_rollups.delay().get() == 0
    assert list(OutcomeDay.objects.values()) == rows


def test_the_embedded_loop_refreshes_once() -> None:
    contact(rating=5)
    DirtyDay.objects.create(day=DAY.date())
    out = StringIO()
    call_command("outcomes_sweep", stdout=out)
    assert OutcomeDay.objects.get().rated == 1
    assert "rollup days 1" in out.getvalue()


def test_the_metrics_command_prints_the_summary() -> None:
    _random_contacts(40)
    rollups_rebuild_all()
    out = StringIO()
    call_command(
        "metrics",
        "--since",
        "2026-09-01",
        "--until",
        "2026-10-31",
        "--topic",
        "refund",
        "--json",
        stdout=out,
    )
    printed = json.loads(out.getvalue())
    filters = Filters(since=date(2026, 9, 1), until=date(2026, 10, 31), topic="refund")
    assert printed == json.loads(json.dumps(metrics_summary(filters)))
    assert printed["conversations"] > 0
    assert set(printed) >= {
        "conversations",
        "paths",
        "outcomes",
        "fcr",
        "recurrence_30d",
        "csat",
        "handoff",
    }

    table = StringIO()
    call_command("metrics", "--since", "2026-09-01", "--until", "2026-10-31", stdout=table)
    text = table.getvalue()
    assert "Contacts that ended 2026-09-01 to 2026-10-31" in text
    assert "FCR" in text and "wait p50 / p90" in text


def test_the_metrics_command_refuses_a_bad_date() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="since"):
        call_command("metrics", "--since", "last week", "--json", stdout=StringIO())


@pytest.mark.parametrize(
    ("figure", "queries"),
    [
        (reports.outcome_mix, 1),
        (reports.trends, 1),
        (reports.csat_by_path, 1),
        (reports.handoff_gap_report, 1),
        # The contacts' rollups, then the comparison group.
        (reports.churn_report, 2),
    ],
)
def test_each_report_costs_the_same_queries_for_any_number_of_contacts(
    django_assert_num_queries, figure, queries: int
) -> None:
    _random_contacts(60)
    rollups_rebuild_all()
    with django_assert_num_queries(queries):
        figure(FILTERS[0])


@pytest.mark.django_db(transaction=True)
def test_two_rebuilds_of_one_day_at_once_leave_one_set_of_rows() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    for _ in range(3):
        contact(rating=5)
    DirtyDay.objects.create(day=DAY.date())
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def rebuild(explicit: bool) -> None:
        try:
            start.wait()
            if explicit:
                rollups_refresh(days=[DAY.date()])
            else:
                rollups_refresh()
        except BaseException as error:  # the assertion below reports it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=rebuild, args=(e,)) for e in (True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert list(OutcomeDay.objects.values_list("day", "contacts")) == [(DAY.date(), 3)]
