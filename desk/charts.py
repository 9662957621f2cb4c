"""Server-rendered SVG charts for the metrics page: stacked bars, grouped bars and lines.

A chart is data: the shapes in the SVG's own coordinates (a viewBox, so CSS scales it to its
column), the axes' ticks, a legend and the same numbers as a table. One template draws every
chart (templates/desk/metrics/_chart.html) with a <title>, a <desc> and the table in a
<details>, so screen readers and copy-paste get the numbers. Colours are CSS classes
(series-0, series-1, ...) that static/css/metrics.css maps to CSS variables. No script.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 42
# An x label wider than its slot wraps onto a second line (then is cut): px per character.
CHAR_WIDTH = 6.0
MAX_X_LABELS = 10
MINUS = "\u2212"  # the typographic minus: a hyphen reads as a dash beside a number

Formatter = Callable[[float], str]
# (series key, x index) -> the address of the conversations behind that shape, or "".
Linker = Callable[[str, int], str]


def as_count(value: float) -> str:
    return f"{value:,.0f}"


def as_percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def as_points_tick(value: float) -> str:
    """An axis's points: short enough for the margin."""
    points = round(value * 100)
    sign = "+" if points > 0 else MINUS if points < 0 else ""
    return f"{sign}{abs(points)} pts"


def as_points(value: float) -> str:
    """A difference of two rates, in percentage points, signed."""
    points = value * 100
    sign = "+" if points > 0.05 else MINUS if points < -0.05 else "±"
    return f"{sign}{abs(points):.1f} pts"


@dataclass(frozen=True)
class Series:
    key: str
    label: str


@dataclass(frozen=True)
class Shape:
    """A bar (kind "rect"), a line through `points` (kind "line") or a point (kind "dot")."""

    kind: str
    css: str
    label: str
    href: str = ""
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0
    height: float = 0.0
    points: str = ""


@dataclass(frozen=True)
class Tick:
    at: float
    label: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chart:
    slug: str
    title: str
    desc: str
    shapes: tuple[Shape, ...] = ()
    x_ticks: tuple[Tick, ...] = ()
    y_ticks: tuple[Tick, ...] = ()
    legend: tuple[Series, ...] = ()
    # A horizontal reference line: (y, label), or None.
    reference: tuple[float, str] | None = None
    head: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    empty: str = ""
    # What a reader must know to read it right, shown under it.
    note: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    right_edge: int = WIDTH - RIGHT
    baseline: float = HEIGHT - BOTTOM
    x_label_y: float = HEIGHT - BOTTOM + 16
    extras: dict[str, str] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return not self.empty


@dataclass(frozen=True)
class Scale:
    """Values onto the plot's height; the domain always holds 0."""

    low: float
    high: float

    def y(self, value: float) -> float:
        plot = HEIGHT - BOTTOM - TOP
        return round(TOP + (self.high - value) / (self.high - self.low) * plot, 1)

    def ticks(self, fmt: Formatter, count: int = 4) -> tuple[Tick, ...]:
        step = _nice_step((self.high - self.low) / count)
        first = math.ceil(self.low / step - 1e-9)
        ticks = []
        n = first
        while n * step <= self.high + 1e-9:
            value = n * step
            ticks.append(Tick(self.y(value), fmt(value)))
            n += 1
        return tuple(ticks)


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for nice in (1, 2, 2.5, 5, 10):
        if raw <= nice * power:
            return nice * power
    return 10 * power


def _scale(values: Sequence[float], *, high: float | None = None) -> Scale:
    low = min([0.0, *values])
    top = max([0.0, *values])
    if high is not None:
        top = max(top, high)
    if top == low:
        top = low + 1
    step = _nice_step((top - low) / 4)
    return Scale(
        low=math.floor(low / step - 1e-9) * step if low < 0 else 0.0,
        high=math.ceil(top / step - 1e-9) * step,
    )


def _slots(count: int, width: int = WIDTH) -> tuple[float, float]:
    """Each x position's width and where the first starts."""
    plot = width - LEFT - RIGHT
    return plot / max(count, 1), float(LEFT)


def _wrap(label: str, width: float) -> tuple[str, ...]:
    """At most two lines of about `width` px; what does not fit ends in an ellipsis."""
    chars = max(int(width / CHAR_WIDTH), 4)
    lines = textwrap.wrap(label, chars) or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), chars, placeholder="…")]
    return tuple(lines)


def _x_ticks(labels: Sequence[str], *, slot: float, start: float) -> tuple[Tick, ...]:
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    return tuple(
        Tick(round(start + n * slot + slot / 2, 1), label, _wrap(label, slot * every - 4))
        for n, label in enumerate(labels)
        if n % every == 0
    )


def _no_link(key: str, index: int) -> str:
    return ""


def stacked_bars(
    *,
    slug: str,
    title: str,
    desc: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    values: Sequence[dict[str, float]],
    link: Linker = _no_link,
    empty: str = "No data in this range yet.",
    width: int = WIDTH,
) -> Chart:
    """One bar per x label, its segments the series' values, bottom to top (counts). A
    wider `width` suits a chart that spans the page: its text stays the same size."""
    totals = [sum(row.get(s.key, 0) or 0 for s in series) for row in values]
    head = ("Period", *(s.label for s in series), "Total")
    rows = tuple(
        (label, *(as_count(row.get(s.key, 0) or 0) for s in series), as_count(total))
        for label, row, total in zip(x_labels, values, totals, strict=True)
    )
    if not any(totals):
        return Chart(slug, title, desc, head=head, rows=rows, empty=empty)
    scale = _scale(totals)
    slot, start = _slots(len(values), width)
    gap = min(slot * 0.2, 6)
    shapes = []
    for n, row in enumerate(values):
        running = 0.0
        for index, s in enumerate(series):
            value = row.get(s.key, 0) or 0
            if not value:
                continue
            top_y = scale.y(running + value)
            shapes.append(
                Shape(
                    kind="rect",
                    css=f"series-{index}",
                    label=f"{x_labels[n]}: {s.label} {as_count(value)} of {as_count(totals[n])}",
                    href=link(s.key, n),
                    x=round(start + n * slot + gap / 2, 1),
                    y=top_y,
                    width=round(max(slot - gap, 1), 1),
                    height=round(scale.y(running) - top_y, 1),
                )
            )
            running += value
    return Chart(
        slug,
        title,
        desc,
        shapes=tuple(shapes),
        x_ticks=_x_ticks(x_labels, slot=slot, start=start),
        y_ticks=scale.ticks(as_count),
        legend=tuple(series),
        head=head,
        rows=rows,
        baseline=scale.y(0),
        width=width,
        right_edge=width - RIGHT,
    )


def grouped_bars(
    *,
    slug: str,
    title: str,
    desc: str,
    groups: Sequence[str],
    series: Sequence[Series],
    values: Sequence[dict[str, float | None]],
    fmt: Formatter = as_percent,
    tick_fmt: Formatter | None = None,
    high: float | None = None,
    reference: tuple[float, str] | None = None,
    link: Linker = _no_link,
    notes: Sequence[dict[str, str]] = (),
    empty: str = "No data in this range yet.",
) -> Chart:
    """A cluster of bars per group, one per series; a missing value (None) draws no bar and
    reads "no data" in the table. Negative values go below the zero line. `notes`: per
    group, per series, what the tooltip and the table add (a sample size)."""
    present = [row[s.key] for row in values for s in series if row.get(s.key) is not None]
    head = ("", *(s.label for s in series))

    def cell(n: int, key: str) -> str:
        value = values[n].get(key)
        extra = notes[n].get(key, "") if n < len(notes) else ""
        text = "no data" if value is None else fmt(value)
        return f"{text} ({extra})" if extra else text

    rows = tuple((g, *(cell(n, s.key) for s in series)) for n, g in enumerate(groups))
    if not present:
        return Chart(slug, title, desc, head=head, rows=rows, empty=empty)
    marks = [*present, *([reference[0]] if reference else [])]
    scale = _scale(marks, high=high)
    slot, start = _slots(len(groups))
    inner = slot * 0.8 / max(len(series), 1)
    shapes = []
    for n, row in enumerate(values):
        # A group with fewer values than series has its bars centred, not left-aligned.
        drawn = [index for index, s in enumerate(series) if row.get(s.key) is not None]
        offset = (len(series) - len(drawn)) * inner / 2
        for place, index in enumerate(drawn):
            s = series[index]
            value = row[s.key]
            y0, y1 = scale.y(0), scale.y(value)
            shapes.append(
                Shape(
                    kind="rect",
                    css=f"series-{index}" + (" negative" if value < 0 else ""),
                    label=f"{groups[n]}: {s.label} {cell(n, s.key)}",
                    href=link(s.key, n),
                    x=round(start + n * slot + slot * 0.1 + offset + place * inner, 1),
                    y=min(y0, y1),
                    width=round(max(inner - 2, 1), 1),
                    height=round(max(abs(y0 - y1), 1), 1),
                )
            )
    return Chart(
        slug,
        title,
        desc,
        shapes=tuple(shapes),
        x_ticks=_x_ticks(groups, slot=slot, start=start),
        y_ticks=scale.ticks(tick_fmt or fmt),
        legend=tuple(series),
        reference=(scale.y(reference[0]), reference[1]) if reference else None,
        head=head,
        rows=rows,
        baseline=scale.y(0),
    )


def lines(
    *,
    slug: str,
    title: str,
    desc: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    values: Sequence[dict[str, float | None]],
    fmt: Formatter = as_percent,
    high: float | None = 1.0,
    link: Linker = _no_link,
    empty: str = "No data in this range yet.",
) -> Chart:
    """A line per series across the x labels; a gap (None) breaks the line."""
    head = ("Period", *(s.label for s in series))
    rows = tuple(
        (label, *("no data" if row.get(s.key) is None else fmt(row[s.key]) for s in series))
        for label, row in zip(x_labels, values, strict=True)
    )
    present = [row[s.key] for row in values for s in series if row.get(s.key) is not None]
    if not present:
        return Chart(slug, title, desc, head=head, rows=rows, empty=empty)
    scale = _scale(present, high=high)
    slot, start = _slots(len(values))
    shapes: list[Shape] = []
    for index, s in enumerate(series):
        run: list[str] = []
        dots: list[Shape] = []
        for n, row in enumerate(values):
            value = row.get(s.key)
            if value is None:
                if len(run) > 1:
                    shapes.append(Shape("line", f"series-{index}", s.label, points=" ".join(run)))
                run = []
                continue
            x, y = round(start + n * slot + slot / 2, 1), scale.y(value)
            run.append(f"{x},{y}")
            dots.append(
                Shape(
                    kind="dot",
                    css=f"series-{index}",
                    label=f"{x_labels[n]}: {s.label} {fmt(value)}",
                    href=link(s.key, n),
                    x=x,
                    y=y,
                )
            )
        if len(run) > 1:
            shapes.append(Shape("line", f"series-{index}", s.label, points=" ".join(run)))
        shapes.extend(dots)
    return Chart(
        slug,
        title,
        desc,
        shapes=tuple(shapes),
        x_ticks=_x_ticks(x_labels, slot=slot, start=start),
        y_ticks=scale.ticks(fmt),
        legend=tuple(series),
        head=head,
        rows=rows,
        baseline=scale.y(0),
    )
