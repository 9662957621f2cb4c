"""What the metrics page shows, from the reports (outcomes.reports): the headline figures,
each with the address of the conversations behind it, and the charts (desk/charts.py).

Nothing here computes a metric: it formats the reports' numbers and lays them out. A figure
whose number is missing (no denominator yet) reads "no data", never a made-up 0%."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from desk import charts
from desk.charts import Chart, Series
from outcomes.models import HumanEnd
from outcomes.reports import Filters, contacts_for

PATHS = (
    ("ai_only", "AI only"),
    ("ai_then_human", "AI then human"),
    ("human_direct", "Human direct"),
)
OUTCOMES = (
    ("ai_resolved_confirmed", "AI-resolved, confirmed"),
    ("ai_resolved_assumed", "AI-resolved, assumed"),
    ("deflected", "Deflected, not resolved"),
    ("abandoned", "Abandoned"),
    ("abandoned_in_queue", "Abandoned in the queue"),
    ("escalated", "Escalated"),
)
HUMAN_ENDS = tuple(HumanEnd.choices)
NO_DATA = "no data"


@functools.lru_cache(maxsize=512)
def figure_known(figure: str) -> bool:
    """Whether the reports know this figure key. contacts_for builds its query lazily (no
    query), but building it costs ~2 ms, and a chart has hundreds of shapes: a key's
    validity does not depend on the filters, so each is asked once per process."""
    try:
        contacts_for(figure, Filters(since=date(2000, 1, 1), until=date(2000, 1, 1)))
    except ValueError:
        return False
    return True


def figure_href(figure: str, filters: Filters) -> str:
    """The list of conversations behind `figure`, or "" for a key the reports do not know."""
    if not figure_known(figure):
        return ""
    path = reverse("desk:metrics_contacts")
    return f"{path}?{urlencode({'figure': figure})}&{filters.as_query()}"


def percent(value: float | None) -> str:
    return NO_DATA if value is None else charts.as_percent(value)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return NO_DATA
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def share_of(part: int | None, whole: int | None) -> str:
    if not whole or part is None:
        return ""
    return f"{part / whole * 100:.0f}% of {whole:,}"


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    href: str = ""
    note: str = ""


@dataclass(frozen=True)
class FigureGroup:
    title: str
    figures: tuple[Figure, ...]
    hint: str = ""


def _csat_figure(label: str, csat: dict[str, Any] | None, href: str) -> Figure:
    csat = csat or {}
    n = csat.get("n") or 0
    mean = csat.get("mean")
    response = csat.get("response_rate")
    notes = [f"{n:,} rating{'s' if n != 1 else ''}"]
    if mean is not None:
        notes.append(f"mean {mean:.2f}")
    if response is not None:
        notes.append(f"{percent(response)} answered")
    return Figure(label, percent(csat.get("share_4_5")), href, " · ".join(notes))


def figure_groups(summary: dict[str, Any], filters: Filters) -> list[FigureGroup]:
    """The headline figures of metrics_summary, in groups, each linking to its conversations."""

    def link(key: str) -> str:
        return figure_href(key, filters)

    total = summary.get("conversations") or 0
    paths = summary.get("paths") or {}
    outcomes = summary.get("outcomes") or {}
    recurrence = summary.get("recurrence_30d") or {}
    csat = summary.get("csat") or {}
    handoff = summary.get("handoff") or {}
    ath = csat.get("ai_then_human") or {}
    ends = summary.get("escalated_by_human_end") or {}
    return [
        FigureGroup(
            "Conversations",
            (
                Figure("Ended in the range", f"{total:,}", link("all")),
                *(
                    Figure(
                        label,
                        f"{paths.get(key, 0):,}",
                        link(f"path:{key}"),
                        share_of(paths.get(key), total),
                    )
                    for key, label in PATHS
                ),
            ),
            "Every conversation has one path, decided when it ends.",
        ),
        FigureGroup(
            "Outcomes",
            tuple(
                Figure(
                    label,
                    f"{outcomes.get(key, 0):,}",
                    link(f"outcome:{key}"),
                    share_of(outcomes.get(key), total),
                )
                for key, label in OUTCOMES
            ),
            "Each contact counts in one. Deflected is never counted as resolved.",
        ),
        FigureGroup(
            "Escalated, by how the person's part ended",
            tuple(
                Figure(
                    label,
                    f"{ends.get(key, 0):,}",
                    link(f"human_end:{key}"),
                    share_of(ends.get(key), outcomes.get("escalated")),
                )
                for key, label in HUMAN_ENDS
            ),
        ),
        FigureGroup(
            "Resolution that lasts",
            (
                Figure(
                    "First-contact resolution",
                    percent(summary.get("fcr")),
                    link("fcr"),
                    "of resolved contacts",
                ),
                Figure(
                    "Came back within 30 days, same topic",
                    percent(recurrence.get("same_topic")),
                    link("recurrence_30d:same_topic"),
                    "of resolved contacts",
                ),
                Figure(
                    "Came back within 30 days, any topic",
                    percent(recurrence.get("any_topic")),
                    link("recurrence_30d:any_topic"),
                    "of resolved contacts",
                ),
            ),
            "A resolution whose customer comes back is not durable.",
        ),
        FigureGroup(
            "Satisfaction (share of 4-5 ratings)",
            (
                *(_csat_figure(label, csat.get(key), link(f"csat:{key}")) for key, label in PATHS),
                _csat_figure(
                    "AI then human: the AI part",
                    ath.get("ai_part"),
                    link("csat:ai_then_human:ai_part"),
                ),
                _csat_figure(
                    "AI then human: the human part",
                    ath.get("human_part"),
                    link("csat:ai_then_human:human_part"),
                ),
            ),
        ),
        FigureGroup(
            "Handoff",
            (
                Figure(
                    "Wait for a human, median",
                    duration(handoff.get("wait_p50_s")),
                    link("handoff:waited"),
                ),
                Figure(
                    "Wait for a human, 90th percentile",
                    duration(handoff.get("wait_p90_s")),
                    link("handoff:waited"),
                ),
                Figure(
                    "Had to repeat themselves",
                    percent(handoff.get("repeat_rate")),
                    link("repeat"),
                    "of handoffs",
                ),
            ),
            "Wait: from the handoff to the first human reply.",
        ),
    ]


def _period_label(period: str, *, weekly: bool) -> str:
    day = date.fromisoformat(str(period)[:10])
    return f"wk {day:%d %b}" if weekly else f"{day:%d %b}"


def _period_linker(
    periods: list[str], filters: Filters, *, weekly: bool, figure: Callable[[str], str]
) -> charts.Linker:
    """A shape's link: its figure over just its period (a day, or a week within the range)."""

    def link(key: str, index: int) -> str:
        start = date.fromisoformat(str(periods[index])[:10])
        end = start + timedelta(days=6) if weekly else start
        scoped = Filters(
            since=max(start, filters.since),
            until=min(end, filters.until),
            topic=filters.topic,
            team=filters.team,
            tier=filters.tier,
        )
        return figure_href(figure(key), scoped)

    return link


def outcome_mix_chart(mix: list[dict[str, Any]], filters: Filters) -> Chart:
    weekly = (filters.until - filters.since).days > 60
    periods = [row["period"] for row in mix]
    return charts.stacked_bars(
        slug="outcome-mix",
        title=f"Outcome mix, {'per week' if weekly else 'per day'}",
        desc="How the conversations that ended in each period came out, as stacked counts.",
        x_labels=[_period_label(p, weekly=weekly) for p in periods],
        series=[Series(key, label) for key, label in OUTCOMES],
        values=mix,
        link=_period_linker(periods, filters, weekly=weekly, figure=lambda k: f"outcome:{k}"),
        empty="No conversation ended in this range yet.",
        width=1280,
    )


TREND_FIGURES = {
    "fcr": "fcr",
    "recurrence_30d_same": "recurrence_30d:same_topic",
    "recurrence_30d_any": "recurrence_30d:any_topic",
}


def trends_chart(rows: list[dict[str, Any]], filters: Filters) -> Chart:
    periods = [row["period"] for row in rows]
    chart = charts.lines(
        slug="trends",
        title="First-contact resolution and 30-day recurrence, per week",
        desc="Of the contacts resolved each week: the share resolved by the first owner with "
        "no return in 7 days, and the share whose customer came back within 30 days.",
        x_labels=[_period_label(p, weekly=True) for p in periods],
        series=[
            Series("fcr", "First-contact resolution"),
            Series("recurrence_30d_same", "Back in 30 d, same topic"),
            Series("recurrence_30d_any", "Back in 30 d, any topic"),
        ],
        values=rows,
        link=_period_linker(periods, filters, weekly=True, figure=TREND_FIGURES.__getitem__),
        empty="No contact was resolved in this range yet.",
    )
    return replace(
        chart,
        note="The last four weeks' recurrence is still coming in: a contact counts as back "
        "only once its customer opens another conversation, and 30 days have not passed yet.",
    )


def csat_chart(csat: dict[str, Any], filters: Filters) -> Chart:
    parts = (("overall", "Overall"), ("ai_part", "The AI part"), ("human_part", "The human part"))
    values: list[dict[str, float | None]] = []
    notes: list[dict[str, str]] = []
    for key, _ in PATHS:
        path = csat.get(key) or {}
        row: dict[str, float | None] = {"overall": path.get("share_4_5")}
        note = {"overall": f"n={path.get('n') or 0:,}"}
        if key == "ai_then_human":
            for part, _ in parts[1:]:
                row[part] = (path.get(part) or {}).get("share_4_5")
                note[part] = f"n={(path.get(part) or {}).get('n') or 0:,}"
        values.append(row)
        notes.append(note)

    def link(part: str, index: int) -> str:
        key = PATHS[index][0]
        return figure_href(f"csat:{key}" + ("" if part == "overall" else f":{part}"), filters)

    return charts.grouped_bars(
        slug="csat",
        title="Satisfaction by path (share of 4-5 ratings)",
        desc="The share of ratings that were 4 or 5, per path; for AI then human, the rating "
        "of the whole conversation, of the AI's part and of the human's part.",
        groups=[label for _, label in PATHS],
        series=[Series(key, label) for key, label in parts],
        values=values,
        high=1.0,
        link=link,
        notes=notes,
        empty="No customer has rated a conversation in this range yet.",
    )


CHURN_SERIES = (
    ("repurchase_60d", "Repurchased within 60 days"),
    ("cancel_60d", "Cancelled within 60 days"),
)


def _churn_chart(
    *,
    slug: str,
    title: str,
    groups: list[dict[str, Any]],
    comparison: dict[str, Any],
    filters: Filters,
) -> Chart:
    """Bars of the groups' topic-standardised rates, then the no-contact group's (raw: it has
    no topic)."""
    values: list[dict[str, float | None]] = [
        {key: group.get(f"{key}_std") for key, _ in CHURN_SERIES} for group in groups
    ]
    notes = [
        {
            key: f"n={group.get('n') or 0:,}; raw {percent(group.get(key))}"
            for key, _ in CHURN_SERIES
        }
        for group in groups
    ]
    labels = [group.get("label") or group.get("key", "") for group in groups]
    if comparison.get("measurable"):
        values.append({key: comparison.get(key) for key, _ in CHURN_SERIES})
        notes.append({key: f"n={comparison.get('n') or 0:,}; raw" for key, _ in CHURN_SERIES})
        labels.append("No contact")

    def link(key: str, index: int) -> str:
        if index >= len(groups):
            return ""
        group = groups[index].get("key", "")
        measure = key.split("_")[0]
        return figure_href(f"churn:{measure}" + ("" if group == "all" else f":{group}"), filters)

    return charts.grouped_bars(
        slug=slug,
        title=title,
        desc="Of the contacts whose 60 days have passed, the share who bought again and the "
        "share who cancelled a subscription, standardised to the topic mix of all contacts; "
        "last, store customers who did not contact support in the same window (not "
        "standardised).",
        groups=labels,
        series=[Series(key, label) for key, label in CHURN_SERIES],
        values=values,
        link=link,
        notes=notes,
        empty="No contact in this range has had its 60 days yet.",
    )


def churn_charts(report: dict[str, Any], filters: Filters) -> tuple[Chart, Chart]:
    comparison = report.get("comparison") or {}
    by_path = [*(report.get("by_path") or []), *([report["all"]] if report.get("all") else [])]
    return (
        _churn_chart(
            slug="churn-path",
            title="Repurchase and cancellation within 60 days, by path",
            groups=by_path,
            comparison=comparison,
            filters=filters,
        ),
        _churn_chart(
            slug="churn-outcome",
            title="Repurchase and cancellation within 60 days, by outcome",
            groups=list(report.get("by_outcome") or []),
            comparison=comparison,
            filters=filters,
        ),
    )


def gap_chart(report: dict[str, Any], filters: Filters) -> Chart:
    factors = list(report.get("factors") or [])
    gap = report.get("gap")
    values = [{"with": f.get("gap_with"), "without": f.get("gap_without")} for f in factors]
    notes = [
        {
            "with": f"{percent(f.get('share'))} of AI then human; {f.get('rated_with') or 0:,} rated",
            "without": f"{f.get('rated_without') or 0:,} rated",
        }
        for f in factors
    ]

    def link(series: str, index: int) -> str:
        key = factors[index].get("key", "")
        return figure_href(f"gap:{key}" + ("" if series == "with" else ":without"), filters)

    return charts.grouped_bars(
        slug="gap",
        title="The handoff gap, with and without each factor",
        desc="CSAT (share of 4-5) of AI then human minus human direct, topic-standardised, "
        "for the escalated contacts with each handoff factor and for those without it; the "
        "dashed line is the gap over all of them. Below zero, customers passed from the AI "
        "rate lower.",
        groups=[f.get("label") or f.get("key", "") for f in factors],
        series=[Series("with", "With the factor"), Series("without", "Without it")],
        values=values,
        fmt=charts.as_points,
        tick_fmt=charts.as_points_tick,
        reference=None if gap is None else (gap, f"Overall gap {charts.as_points(gap)}"),
        link=link,
        notes=notes,
        empty="Not enough ratings of both escalated paths in this range yet.",
    )


def points(value: float | None) -> str:
    return NO_DATA if value is None else charts.as_points(value)


def gap_factor_rows(report: dict[str, Any], filters: Filters) -> list[dict[str, str]]:
    """The factors as the report's table shows them."""
    return [
        {
            "label": f.get("label") or f.get("key", ""),
            "href": figure_href(f"gap:{f.get('key', '')}", filters),
            "share": percent(f.get("share")),
            "csat_with": percent(f.get("csat_with")),
            "csat_without": percent(f.get("csat_without")),
            "gap_with": points(f.get("gap_with")),
            "gap_without": points(f.get("gap_without")),
        }
        for f in report.get("factors") or []
    ]


_FIXED_LABELS = {
    "all": "Every conversation that ended",
    "resolved": "Resolved contacts",
    "fcr": "First-contact resolutions",
    "fcr:not": "Resolved, but not at first contact",
    "recurrence_30d:same_topic": "Resolved, back within 30 days on the same topic",
    "recurrence_30d:any_topic": "Resolved, back within 30 days on any topic",
    "durable:not": "Resolved, back within 30 days on the same topic",
    "handoff": "Handed to a person",
    "handoff:waited": "Handed to a person and answered (the wait figures)",
    "repeat": "Had to repeat themselves after the handoff",
}
_PARTS = {"ai_part": "the AI part rated", "human_part": "the human part rated"}


def figure_label(figure: str) -> str:
    """What a figure key counts, in words, for the list's heading."""
    if figure in _FIXED_LABELS:
        return _FIXED_LABELS[figure]
    prefix, _, rest = figure.partition(":")
    first, _, second = rest.partition(":")
    paths, outcomes, ends = dict(PATHS), dict(OUTCOMES), dict(HUMAN_ENDS)
    factors = {
        "wait_long": "a long wait",
        "ai_long": "a long time with the AI",
        "repeated": "a repeat",
        "cold_greeting": "a cold greeting",
    }
    if prefix == "path":
        return f"Path: {paths.get(first, first)}"
    if prefix == "outcome":
        return f"Outcome: {outcomes.get(first, first)}"
    if prefix == "human_end":
        return f"Escalated, the person's part ended: {ends.get(first, first)}"
    if prefix == "csat":
        what = _PARTS.get(second, f"rated {second}" if second else "rated")
        return f"{paths.get(first, first)}, {what}"
    if prefix == "churn":
        measure = {"repurchase": "bought again", "cancel": "cancelled", "eligible": "measured"}
        group = paths.get(second) or outcomes.get(second) or "all contacts"
        return f"{group}: {measure.get(first, first)} within 60 days"
    if prefix == "gap":
        if first in paths:
            return f"{paths[first]}, rated"
        return f"AI then human {'without' if second else 'with'} {factors.get(first, first)}"
    return figure
