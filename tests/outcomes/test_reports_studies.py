"""The churn and handoff-gap reports on known contacts: topic standardisation, the comparison
group, the gap with and without each factor, and the caveats."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from outcomes.models import Path
from outcomes.reports import Filters, churn_report, contacts_for, handoff_gap_report
from outcomes.rollups import rollups_rebuild_all
from outcomes.sums import reading_contacts
from tests.factories import CustomerFactory, OrderFactory, SubscriptionFactory
from tests.outcomes.reports_data import contact

pytestmark = pytest.mark.django_db

SEPTEMBER = Filters(since=date(2026, 9, 1), until=date(2026, 9, 30))
SEPT_10 = datetime(2026, 9, 10, 12, tzinfo=UTC)


def _churn(path: str, topic: str, n: int, repurchased: int, cancelled: int = 0) -> None:
    for i in range(n):
        contact(
            path=path,
            topic=topic,
            ended=SEPT_10,
            repurchased_60d=i < repurchased,
            cancelled_60d=i < cancelled,
        )


@pytest.fixture
def churn_contacts() -> None:
    """The AI keeps the easy topic (a) and humans get the hard one (b): raw rates favour the
    AI, rates standardised to the topic mix favour the humans."""
    _churn(Path.AI_ONLY, "a", 4, repurchased=3, cancelled=1)
    _churn(Path.AI_ONLY, "b", 1, repurchased=0, cancelled=1)
    _churn(Path.HUMAN_DIRECT, "a", 1, repurchased=1)
    _churn(Path.HUMAN_DIRECT, "b", 4, repurchased=1, cancelled=2)
    # Its 60 days have not passed: in the topic mix, not in the rates.
    contact(path=Path.AI_THEN_HUMAN, topic="c", ended=SEPT_10)


def _group(report: dict, key: str) -> dict:
    return next(g for g in report["by_path"] + report["by_outcome"] if g["key"] == key)


@pytest.mark.parametrize("source", ["contacts", "rollups"])
def test_churn_by_path_standardised_by_topic(churn_contacts: None, source: str) -> None:
    if source == "contacts":
        with reading_contacts():
            report = churn_report(SEPTEMBER)
    else:
        rollups_rebuild_all()
        report = churn_report(SEPTEMBER)
    assert (report["contacts"], report["eligible"], report["pending"]) == (11, 10, 1)
    assert report["topics"] == [
        {"topic": "a", "contacts": 5, "weight": 5 / 11},
        {"topic": "b", "contacts": 5, "weight": 5 / 11},
        {"topic": "c", "contacts": 1, "weight": 1 / 11},
    ]
    ai = _group(report, "ai_only")
    assert ai == {
        "key": "ai_only",
        "label": "AI only",
        "contacts": 5,
        "n": 5,
        "repurchase_60d": 3 / 5,
        "cancel_60d": 2 / 5,
        # (5/11 * 3/4 + 5/11 * 0) / (10/11): topic c has no ai_only contact.
        "repurchase_60d_std": pytest.approx(0.375),
        "cancel_60d_std": pytest.approx(0.5 * 0.25 + 0.5 * 1.0),
        "missing_strata": ["c"],
        "small_strata": ["a", "b"],
    }
    human = _group(report, "human_direct")
    assert human["repurchase_60d"] == 2 / 5
    assert human["repurchase_60d_std"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.25)
    assert human["cancel_60d_std"] == pytest.approx(0.5 * 0.0 + 0.5 * 0.5)
    pending = _group(report, "ai_then_human")
    assert (pending["contacts"], pending["n"], pending["repurchase_60d_std"]) == (1, 0, None)
    # Outcomes: every ai_only contact here is AI-resolved (assumed), the rest escalated.
    assert _group(report, "ai_resolved_assumed")["repurchase_60d"] == 3 / 5
    assert _group(report, "escalated")["n"] == 5
    assert _group(report, "deflected")["repurchase_60d"] is None
    assert report["all"]["repurchase_60d"] == 5 / 10


def test_churn_comparison_group(churn_contacts: None) -> None:
    start = datetime(2026, 9, 1, tzinfo=UTC)
    before = start - timedelta(days=100)
    bought = CustomerFactory(created_at=before, tier="gold")
    OrderFactory(customer=bought, created_at=start + timedelta(days=9))
    left = CustomerFactory(created_at=before)
    SubscriptionFactory(
        customer=left, started_at=before, ended_at=start + timedelta(days=44), status="cancelled"
    )
    CustomerFactory(created_at=before)  # nothing happened
    late = CustomerFactory(created_at=before)
    OrderFactory(customer=late, created_at=start + timedelta(days=60))  # day 61: outside
    contacted = CustomerFactory(created_at=before)
    OrderFactory(customer=contacted, created_at=start + timedelta(days=3))
    contact(customer_key=f"acct:{contacted.customer_id}", ended=SEPT_10)
    new = CustomerFactory(created_at=start + timedelta(days=1))
    OrderFactory(customer=new, created_at=start + timedelta(days=2))

    comparison = churn_report(SEPTEMBER)["comparison"]
    assert comparison == {
        "measured_from": "2026-09-01",
        "measured_until": "2026-10-30",
        "measurable": True,
        "n": 4,
        "repurchase_60d": 1 / 4,
        "cancel_60d": 1 / 4,
    }
    gold = Filters(since=SEPTEMBER.since, until=SEPTEMBER.until, tier="gold")
    assert churn_report(gold)["comparison"]["n"] == 1


def test_churn_comparison_waits_for_its_60_days(db: None) -> None:
    today = datetime.now(UTC).date()
    recent = Filters(since=today - timedelta(days=10), until=today)
    report = churn_report(recent)
    assert report["comparison"]["measurable"] is False
    assert report["comparison"]["n"] is None
    assert any("have not passed yet" in c for c in report["caveats"])


def test_churn_caveats_say_what_the_data_cannot(churn_contacts: None) -> None:
    rollups_rebuild_all()
    caveats = " ".join(churn_report(SEPTEMBER)["caveats"])
    for words in (
        "Observational",
        "Selection",
        "topic mix",
        "Censoring: 1 of 11",
        "Small strata",
        "Only 10 contacts are measured",
    ):
        assert words in caveats


def test_churn_figures_list_their_contacts(churn_contacts: None) -> None:
    assert contacts_for("churn:eligible", SEPTEMBER).count() == 10
    assert contacts_for("churn:repurchase:ai_only", SEPTEMBER).count() == 3
    assert contacts_for("churn:cancel:human_direct", SEPTEMBER).count() == 2
    assert contacts_for("churn:cancel:ai_resolved_assumed", SEPTEMBER).count() == 2


def _rated(path: str, topic: str, ratings: list[int | None], **fields: object) -> None:
    for r in ratings:
        contact(path=path, topic=topic, rating=r, ended=SEPT_10, **fields)


@pytest.fixture
def gap_contacts() -> None:
    _rated(Path.HUMAN_DIRECT, "a", [5, 4, 4, 2], wait_seconds=30)
    _rated(Path.AI_THEN_HUMAN, "a", [1, 2], wait_seconds=600)  # long waits
    _rated(Path.AI_THEN_HUMAN, "a", [5], wait_seconds=100)
    _rated(Path.AI_THEN_HUMAN, "a", [4], wait_seconds=100, ai_seconds=200)  # long with the AI
    _rated(Path.AI_THEN_HUMAN, "a", [None], wait_seconds=100, repeated=True)  # not rated


@pytest.mark.parametrize("source", ["contacts", "rollups"])
def test_gap_with_and_without_each_factor(gap_contacts: None, source: str) -> None:
    if source == "contacts":
        with reading_contacts():
            report = handoff_gap_report(SEPTEMBER)
    else:
        rollups_rebuild_all()
        report = handoff_gap_report(SEPTEMBER)
    assert report["thresholds"] == {"wait_long_s": 300.0, "ai_long_s": 180.0}
    assert report["paths"] == {
        "ai_then_human": {"contacts": 5, "rated": 4, "csat": 0.5, "csat_std": 0.5},
        "human_direct": {"contacts": 4, "rated": 4, "csat": 0.75, "csat_std": 0.75},
    }
    assert report["gap"] == report["gap_raw"] == -0.25
    factors = {f["key"]: f for f in report["factors"]}
    assert list(factors) == ["wait_long", "ai_long", "repeated", "cold_greeting"]
    assert factors["wait_long"] == {
        "key": "wait_long",
        "label": "Waited over 5 min for a person",
        "contacts": 2,
        "share": 0.4,
        "rated_with": 2,
        "csat_with": 0.0,
        "rated_without": 2,
        "csat_without": 1.0,
        "gap_with": -0.75,
        "gap_without": 0.25,
        "explained": -0.5,
        "small_strata": ["a"],
    }
    ai_long = factors["ai_long"]
    assert (ai_long["share"], ai_long["csat_with"], ai_long["csat_without"]) == (0.2, 1.0, 1 / 3)
    assert ai_long["gap_with"] == 0.25
    assert ai_long["gap_without"] == pytest.approx(1 / 3 - 0.75)
    repeated = factors["repeated"]
    assert (repeated["contacts"], repeated["rated_with"], repeated["csat_with"]) == (1, 0, None)
    assert (repeated["gap_with"], repeated["gap_without"], repeated["explained"]) == (
        None,
        -0.25,
        0.0,
    )
    assert factors["cold_greeting"]["share"] == 0.0


def test_gap_is_standardised_by_topic(db: None) -> None:
    """The AI keeps the easy topic b; humans direct get the hard topic a. Raw, the handoff
    looks 30 points better; within each topic both paths score the same."""
    _rated(Path.AI_THEN_HUMAN, "a", [5, 1])
    _rated(Path.HUMAN_DIRECT, "a", [5, 5, 5, 5, 1, 1, 1, 1])
    _rated(Path.AI_THEN_HUMAN, "b", [5] * 8)
    _rated(Path.HUMAN_DIRECT, "b", [5, 5])
    _rated(Path.AI_THEN_HUMAN, "c", [1])  # no human_direct contact to compare with
    with reading_contacts():
        report = handoff_gap_report(SEPTEMBER)
    assert report["gap_raw"] == pytest.approx(9 / 11 - 6 / 10)
    assert report["gap"] == pytest.approx(0.0)
    assert report["paths"]["ai_then_human"]["csat_std"] == pytest.approx(0.75)
    assert report["strata"] == ["a", "b"]
    assert report["dropped_strata"] == ["c"]
    assert report["small_strata"] == ["a", "b"]
    assert any("only one path has rated contacts" in c for c in report["caveats"])


def test_gap_of_nothing_is_null(db: None) -> None:
    report = handoff_gap_report(SEPTEMBER)
    assert report["gap"] is None
    assert all(f["share"] is None and f["gap_without"] is None for f in report["factors"])


def test_the_comparison_group_is_kept_a_while(settings, django_assert_num_queries) -> None:
    from django.core.cache import cache

    from outcomes.studies import churn_comparison

    settings.BATON_METRICS_COMPARISON_CACHE_SECONDS = 300
    cache.clear()
    try:
        CustomerFactory(created_at=datetime(2026, 1, 1, tzinfo=UTC))
        with django_assert_num_queries(1):
            first = churn_comparison(SEPTEMBER)
        CustomerFactory(created_at=datetime(2026, 1, 1, tzinfo=UTC))
        with django_assert_num_queries(0):
            assert churn_comparison(SEPTEMBER) == first
        assert first["n"] == 1
        gold = Filters(since=SEPTEMBER.since, until=SEPTEMBER.until, tier="gold")
        with django_assert_num_queries(1):
            churn_comparison(gold)
    finally:
        cache.clear()
