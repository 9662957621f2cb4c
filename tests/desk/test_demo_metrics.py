"""The demo's generated metrics history: both reports have data to show, it is seeded once,
and the live desk's summary does not count it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from desk.demo import demo_store_seed
from desk.demo_metrics import demo_metrics_seed
from desk.demo_pace import demo_summary
from outcomes.reports import Filters, churn_report, handoff_gap_report, metrics_summary

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def test_the_metrics_reports_have_data_once_seeded() -> None:
    demo_store_seed(customers=150, orders=300, seed=3)
    seeded = demo_metrics_seed(conversations=600, now=NOW)
    assert seeded.seeded_now and seeded.conversations == 600
    assert "600 generated contacts over 120 days" in seeded.line()

    filters = Filters(since=date(2026, 7, 20), until=NOW.date())
    summary = metrics_summary(filters)
    assert summary["conversations"] == 600
    assert all(summary["paths"][path] for path in ("ai_only", "ai_then_human", "human_direct"))
    assert summary["csat"]["ai_only"]["n"] > 0 and summary["handoff"]["wait_p50_s"]
    gap = handoff_gap_report(filters)
    assert gap["gap"] is not None and {f["key"] for f in gap["factors"]} >= {"wait_long"}
    churn = churn_report(filters)
    assert churn["eligible"] > 0 and churn["by_path"]
    # The demo shop's customers, who had no contact, have months of orders behind them too,
    # so the comparison group buys at its baseline rather than seeming to have stopped.
    comparison = churn["comparison"]
    assert comparison["n"] >= 150 and 0.2 < comparison["repurchase_60d"] < 0.6

    again = demo_metrics_seed(conversations=600, now=NOW)
    assert not again.seeded_now and again.conversations == 600
    assert demo_summary().conversations == 0
