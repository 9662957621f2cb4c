"""The reports' figures on Contact rows with known values: the summary, the outcome mix, the
trends, CSAT by path, the conversations behind a figure, and the filters."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection

from outcomes.models import HumanEnd, Outcome, Path
from outcomes.reports import (
    Filters,
    contacts_for,
    csat_by_path,
    filter_choices,
    metrics_summary,
    outcome_mix,
    trends,
)
from outcomes.rollups import rollups_rebuild_all
from outcomes.sums import reading_contacts
from tests.outcomes.reports_data import DAY, contact

pytestmark = pytest.mark.django_db

NOVEMBER = Filters(since=date(2026, 11, 1), until=date(2026, 11, 30))


@pytest.fixture
def month() -> dict[str, int]:
    """Eight contacts that ended in November, one in October and one still open; returns
    their ids by name."""
    made = {
        "confirmed": contact(confirmed=True, fcr=True, rating=5, tier="gold"),
        "assumed": contact(
            fcr=False, recurred_7d_same=True, recurred_30d_same=True, recurred_30d_any=True
        ),
        "deflected": contact(outcome=Outcome.DEFLECTED, rating_ai=2, topic="refund"),
        "abandoned": contact(outcome=Outcome.ABANDONED, resolved=False),
        "left_queue": contact(
            path=Path.AI_THEN_HUMAN,
            abandoned_in_queue=True,
            human_end=HumanEnd.UNFINISHED,
            resolved=False,
            handoff_at=DAY,
            team="billing",
        ),
        "human_fcr": contact(
            path=Path.AI_THEN_HUMAN,
            fcr=True,
            rating=4,
            rating_ai=2,
            rating_human=5,
            handoff_at=DAY,
            wait_seconds=120,
            recurred_30d_any=True,
            team="billing",
        ),
        "follow_up": contact(
            path=Path.AI_THEN_HUMAN,
            human_end=HumanEnd.FOLLOW_UP,
            rating=1,
            handoff_at=DAY,
            wait_seconds=600,
            repeated=True,
            team="billing",
            ended=DAY + timedelta(days=9),
        ),
        "direct": contact(
            path=Path.HUMAN_DIRECT,
            rating_human=5,
            handoff_at=DAY,
            wait_seconds=60,
            team="returns",
            ended=DAY + timedelta(days=9),
        ),
        "october": contact(ended=DAY.replace(day=1, hour=0) - timedelta(seconds=1), rating=1),
    }
    open_contact = contact(path="", outcome="")
    open_contact.ended_at = None
    open_contact.save()
    return {name: c.pk for name, c in made.items()}


def _summary_expected() -> dict:
    return {
        "filters": {
            "since": "2026-11-01",
            "until": "2026-11-30",
            "topic": "",
            "team": "",
            "tier": "",
        },
        "conversations": 8,
        "paths": {"ai_only": 4, "ai_then_human": 3, "human_direct": 1},
        "outcomes": {
            "ai_resolved_confirmed": 1,
            "ai_resolved_assumed": 1,
            "deflected": 1,
            "abandoned": 1,
            "abandoned_in_queue": 1,
            "escalated": 3,
        },
        "escalated_by_human_end": {
            "resolved": 1 + 1,
            "follow_up": 1,
            "handed_back": 0,
            "unfinished": 0,
        },
        "resolved": 4,
        "fcr": 2 / 4,
        "recurrence_30d": {"same_topic": 1 / 4, "any_topic": 2 / 4},
        "csat": {
            # The deflected contact's only rating is the AI part's: it is the contact's.
            "ai_only": {"n": 2, "share_4_5": 0.5, "mean": 3.5, "response_rate": 0.5},
            "ai_then_human": {
                "n": 2,
                "share_4_5": 0.5,
                "mean": 2.5,
                "response_rate": 2 / 3,
                "ai_part": {"n": 1, "share_4_5": 0.0, "mean": 2.0, "response_rate": 1 / 3},
                "human_part": {"n": 1, "share_4_5": 1.0, "mean": 5.0, "response_rate": 1 / 3},
            },
            "human_direct": {"n": 1, "share_4_5": 1.0, "mean": 5.0, "response_rate": 1.0},
        },
        "handoff": {
            "handoffs": 4,
            "wait_p50_s": 120.0,
            "wait_p90_s": pytest.approx(120 + 0.8 * 480),
            "repeat_rate": 1 / 4,
        },
    }


def test_summary_from_contacts(month: dict[str, int]) -> None:
    with reading_contacts():
        assert metrics_summary(NOVEMBER) == _summary_expected()


def test_summary_from_rollups_in_two_queries(
    month: dict[str, int], django_assert_max_num_queries
) -> None:
    rollups_rebuild_all()
    # The rollups, then the waits (PostgreSQL first sets the sort's memory for them).
    with django_assert_max_num_queries(3 if connection.vendor == "postgresql" else 2):
        assert metrics_summary(NOVEMBER) == _summary_expected()


def test_summary_of_nothing_has_null_rates(db: None) -> None:
    summary = metrics_summary(NOVEMBER)
    assert summary["conversations"] == 0
    assert summary["fcr"] is None
    assert summary["recurrence_30d"] == {"same_topic": None, "any_topic": None}
    assert summary["csat"]["ai_then_human"]["ai_part"] == {
        "n": 0,
        "share_4_5": None,
        "mean": None,
        "response_rate": None,
    }
    assert summary["handoff"] == {
        "handoffs": 0,
        "wait_p50_s": None,
        "wait_p90_s": None,
        "repeat_rate": None,
    }


def test_summary_filters_by_topic_team_and_tier(month: dict[str, int]) -> None:
    with reading_contacts():
        billing = metrics_summary(
            Filters(since=NOVEMBER.since, until=NOVEMBER.until, team="billing")
        )
        refund = metrics_summary(
            Filters(since=NOVEMBER.since, until=NOVEMBER.until, topic="refund")
        )
        gold = metrics_summary(Filters(since=NOVEMBER.since, until=NOVEMBER.until, tier="gold"))
    assert billing["paths"] == {"ai_only": 0, "ai_then_human": 3, "human_direct": 0}
    assert billing["handoff"]["wait_p50_s"] == 360.0
    assert refund["outcomes"]["deflected"] == refund["conversations"] == 1
    assert gold["conversations"] == 1
    assert gold["csat"]["ai_only"]["share_4_5"] == 1.0


def test_outcome_mix_by_day_then_by_week(month: dict[str, int]) -> None:
    rollups_rebuild_all()
    daily = outcome_mix(NOVEMBER)
    assert len(daily) == 30
    assert daily[0] == {
        "period": "2026-11-01",
        "total": 0,
        "ai_resolved_confirmed": 0,
        "ai_resolved_assumed": 0,
        "deflected": 0,
        "abandoned": 0,
        "abandoned_in_queue": 0,
        "escalated": 0,
    }
    assert daily[1] == {
        "period": "2026-11-02",
        "total": 6,
        "ai_resolved_confirmed": 1,
        "ai_resolved_assumed": 1,
        "deflected": 1,
        "abandoned": 1,
        "abandoned_in_queue": 1,
        "escalated": 1,
    }
    assert daily[10]["period"] == "2026-11-11"
    assert daily[10]["escalated"] == 2
    assert sum(day["total"] for day in daily) == 8

    weekly = outcome_mix(Filters(since=date(2026, 9, 1), until=date(2026, 11, 30)))
    # Weeks from their Mondays: 2026-09-01 is a Tuesday.
    assert weekly[0]["period"] == "2026-08-31"
    assert [w["period"] for w in weekly[-3:]] == ["2026-11-16", "2026-11-23", "2026-11-30"]
    by_period = {w["period"]: w for w in weekly}
    assert by_period["2026-10-26"]["total"] == 1  # the October contact, on the 31st
    assert by_period["2026-11-02"]["total"] == 6
    assert by_period["2026-11-09"]["total"] == 2


def test_trends_per_week(month: dict[str, int]) -> None:
    with reading_contacts():
        weeks = trends(NOVEMBER)
    assert [w["period"] for w in weeks] == [
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
        "2026-11-30",
    ]
    assert weeks[1] == {
        "period": "2026-11-02",
        "n": 3,
        "fcr": 2 / 3,
        "recurrence_30d_same": 1 / 3,
        "recurrence_30d_any": 2 / 3,
    }
    assert weeks[2] == {
        "period": "2026-11-09",
        "n": 1,
        "fcr": 0.0,
        "recurrence_30d_same": 0.0,
        "recurrence_30d_any": 0.0,
    }
    assert weeks[3] == {
        "period": "2026-11-16",
        "n": 0,
        "fcr": None,
        "recurrence_30d_same": None,
        "recurrence_30d_any": None,
    }


def test_csat_by_path_with_distribution(month: dict[str, int]) -> None:
    with reading_contacts():
        csat = csat_by_path(NOVEMBER)
    assert csat["ai_only"]["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert csat["ai_only"]["contacts"] == 4
    assert csat["ai_then_human"]["distribution"] == {"1": 1, "2": 0, "3": 0, "4": 1, "5": 0}
    assert csat["ai_then_human"]["human_part"]["share_4_5"] == 1.0
    assert csat["human_direct"] == {
        "n": 1,
        "share_4_5": 1.0,
        "mean": 5.0,
        "response_rate": 1.0,
        "contacts": 1,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1},
    }


@pytest.mark.parametrize(
    ("figure", "names"),
    [
        (
            "all",
            {
                "confirmed",
                "assumed",
                "deflected",
                "abandoned",
                "left_queue",
                "human_fcr",
                "follow_up",
                "direct",
            },
        ),
        ("path:ai_then_human", {"left_queue", "human_fcr", "follow_up"}),
        ("outcome:ai_resolved_confirmed", {"confirmed"}),
        ("outcome:ai_resolved_assumed", {"assumed"}),
        ("outcome:deflected", {"deflected"}),
        ("outcome:abandoned", {"abandoned"}),
        ("outcome:abandoned_in_queue", {"left_queue"}),
        ("outcome:escalated", {"human_fcr", "follow_up", "direct"}),
        ("human_end:follow_up", {"follow_up"}),
        ("resolved", {"confirmed", "assumed", "human_fcr", "direct"}),
        ("fcr", {"confirmed", "human_fcr"}),
        ("fcr:not", {"assumed", "direct"}),
        ("recurrence_30d:same_topic", {"assumed"}),
        ("recurrence_30d:any_topic", {"assumed", "human_fcr"}),
        ("durable:not", {"assumed"}),
        ("csat:ai_only", {"confirmed", "deflected"}),
        ("csat:ai_only:2", {"deflected"}),
        ("csat:ai_then_human:4_5", {"human_fcr"}),
        ("csat:ai_then_human:ai_part", {"human_fcr"}),
        ("csat:human_direct", {"direct"}),
        ("handoff", {"left_queue", "human_fcr", "follow_up", "direct"}),
        ("handoff:waited", {"human_fcr", "follow_up", "direct"}),
        ("repeat", {"follow_up"}),
        ("gap:wait_long", {"follow_up"}),
        ("gap:wait_long:without", {"left_queue", "human_fcr"}),
        ("gap:ai_then_human", {"human_fcr", "follow_up"}),
        ("gap:human_direct", {"direct"}),
        ("churn:eligible", set()),
        ("churn:cancel:ai_only", set()),
    ],
)
def test_contacts_for_each_figure(month: dict[str, int], figure: str, names: set[str]) -> None:
    got = contacts_for(figure, NOVEMBER)
    assert set(got.values_list("pk", flat=True)) == {month[n] for n in names}


def test_contacts_for_is_newest_first_and_filtered(month: dict[str, int]) -> None:
    got = list(contacts_for("path:ai_then_human", NOVEMBER).values_list("pk", flat=True))
    assert got[0] == month["follow_up"]
    refund = Filters(since=NOVEMBER.since, until=NOVEMBER.until, topic="refund")
    assert list(contacts_for("all", refund).values_list("pk", flat=True)) == [month["deflected"]]


@pytest.mark.parametrize(
    "figure",
    [
        "nope",
        "path:",
        "path:robot",
        "outcome:escalated_twice",
        "csat:ai_only:ai_part",
        "csat:ai_only:6",
        "churn:leave:ai_only",
        "churn:cancel:nobody",
        "gap:slow",
        "gap:wait_long:with",
        "recurrence_30d",
        "human_end:gone",
    ],
)
def test_contacts_for_an_unknown_figure_raises(db: None, figure: str) -> None:
    with pytest.raises(ValueError, match="unknown figure"):
        contacts_for(figure, NOVEMBER)


def test_filter_choices(month: dict[str, int]) -> None:
    rollups_rebuild_all()
    assert filter_choices() == {
        "topics": ["refund", "shipping"],
        "teams": ["billing", "returns"],
        "tiers": ["gold"],
    }


def test_filters_from_a_query_and_back() -> None:
    today = date(2026, 12, 4)
    default = Filters.from_query({}, today=today)
    assert (default.since, default.until) == (date(2026, 11, 5), today)
    assert default.days == 30
    seven = Filters.from_query({"since": "7d", "topic": "refund", "team": ""}, today=today)
    assert seven == Filters(since=date(2026, 11, 28), until=today, topic="refund")
    assert seven.as_query() == "since=2026-11-28&until=2026-12-04&topic=refund"
    assert Filters.from_query(dict(_pairs(seven.as_query())), today=today) == seven
    assert Filters.from_query({"since": "2026-10-01", "until": "2026-10-31"}).days == 31
    for bad in (
        {"since": "yesterday"},
        {"since": "0d"},
        {"since": "2026-12-05", "until": "2026-12-01"},
    ):
        with pytest.raises(ValueError):
            Filters.from_query(bad, today=today)


def _pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query)


def test_an_escalated_contact_rated_by_its_parts_counts_on_its_persons_part() -> None:
    # Baton's own survey asks the two parts only: the person's part is what ai_then_human is
    # compared on, as human_direct is.
    contact(path=Path.AI_THEN_HUMAN, rating=None, rating_ai=2, rating_human=5)
    contact(path=Path.AI_THEN_HUMAN, rating=1, rating_ai=1, rating_human=5)
    rollups_rebuild_all()
    for reading in (reading_contacts, None):
        if reading is None:
            csat = metrics_summary(NOVEMBER)["csat"]["ai_then_human"]
        else:
            with reading():
                csat = metrics_summary(NOVEMBER)["csat"]["ai_then_human"]
        assert (csat["n"], csat["share_4_5"]) == (2, 0.5)
        assert csat["ai_part"]["n"] == 2 and csat["human_part"]["share_4_5"] == 1.0


def test_not_durable_is_a_resolution_whose_customer_came_back_within_30_days() -> None:
    back = contact(recurred_30d_same=True, recurred_30d_any=True)
    contact(recurred_30d_any=True)
    contact()
    assert list(contacts_for("durable:not", NOVEMBER)) == [back]
