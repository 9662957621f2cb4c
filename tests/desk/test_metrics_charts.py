"""desk/charts.py: the shapes a chart's numbers become, its table, and its empty state."""

from __future__ import annotations

from desk import charts
from desk.charts import Series


def test_stacked_bars_stack_each_period_and_say_so_when_empty() -> None:
    series = [Series("a", "A"), Series("b", "B")]
    chart = charts.stacked_bars(
        slug="mix",
        title="Mix",
        desc="d",
        x_labels=["1 Dec", "2 Dec"],
        series=series,
        values=[{"a": 3, "b": 1}, {"a": 0, "b": 2}],
        link=lambda key, n: f"/x?{key}={n}",
    )
    rects = [s for s in chart.shapes if s.kind == "rect"]
    assert len(rects) == 3  # a zero draws nothing
    first_a, first_b = rects[0], rects[1]
    # B sits on top of A, and A's bar is three times B's.
    assert abs(first_b.y + first_b.height - first_a.y) < 0.2
    assert abs(first_a.height - 3 * first_b.height) < 0.5
    assert rects[0].href == "/x?a=0" and "3 of 4" in rects[0].label
    assert chart.rows == (("1 Dec", "3", "1", "4"), ("2 Dec", "0", "2", "2"))
    empty = charts.stacked_bars(
        slug="mix", title="Mix", desc="d", x_labels=["1 Dec"], series=series, values=[{}]
    )
    assert not empty.has_data and empty.shapes == ()


def test_grouped_bars_draw_negatives_below_zero_and_centre_lone_bars() -> None:
    chart = charts.grouped_bars(
        slug="gap",
        title="Gap",
        desc="d",
        groups=["Waited", "Repeated"],
        series=[Series("with", "With"), Series("without", "Without")],
        values=[{"with": -0.2, "without": 0.05}, {"with": -0.1, "without": None}],
        fmt=charts.as_points,
        reference=(-0.15, "Overall"),
    )
    bars = chart.shapes
    assert len(bars) == 3
    assert "negative" in bars[0].css and bars[0].y == chart.baseline
    assert bars[1].y + bars[1].height == chart.baseline
    slot = (charts.WIDTH - charts.LEFT - charts.RIGHT) / 2
    lone = bars[2]
    assert abs(lone.x + lone.width / 2 + 1 - (charts.LEFT + slot * 1.5)) < 1
    assert chart.reference is not None and chart.reference[0] > chart.baseline
    assert chart.rows[1] == ("Repeated", "\u221210.0 pts", "no data")


def test_lines_break_at_a_missing_value_and_labels_wrap() -> None:
    chart = charts.lines(
        slug="t",
        title="T",
        desc="d",
        x_labels=["w1", "w2", "w3", "w4"],
        series=[Series("fcr", "FCR")],
        values=[{"fcr": 0.5}, {"fcr": 0.6}, {"fcr": None}, {"fcr": 0.7}],
    )
    lines = [s for s in chart.shapes if s.kind == "line"]
    dots = [s for s in chart.shapes if s.kind == "dot"]
    assert len(lines) == 1 and len(lines[0].points.split()) == 2
    assert len(dots) == 3
    assert chart.rows[2] == ("w3", "no data")
    wrapped = charts.grouped_bars(
        slug="g",
        title="G",
        desc="d",
        groups=[f"A rather long group label number {n}" for n in range(7)],
        series=[Series("v", "V")],
        values=[{"v": 0.1}] * 7,
    )
    assert all(1 < len(tick.lines) <= 2 for tick in wrapped.x_ticks)
