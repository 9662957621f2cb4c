"""How the supervisor console writes its figures: durations, shares and the index's
sparkline. Pure formatting of what escalation.workload computed: no queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django import template

register = template.Library()


@register.filter
def minutes(value: float | None) -> str:
    """35 min, 2 h 05; an em dash for no value."""
    if value is None:
        return "—"
    total = max(0, round(value))
    if total < 60:
        return f"{total} min"
    return f"{total // 60} h {total % 60:02d}"


@register.filter
def minutes_since(moment: datetime | None, now: datetime) -> float | None:
    if moment is None:
        return None
    return (now - moment).total_seconds() / 60


@register.filter
def percent(value: float | None) -> str:
    if value is None:
        return "—"
    if 0 < value < 0.005:
        # Not nothing: a part that adds points never reads as 0%.
        return "<1%"
    return f"{round(value * 100)}%"


@register.filter
def above(value: float | None, median: float | None) -> bool:
    """Slower than the agent's own 30-day median by more than a quarter."""
    if value is None or not median:
        return False
    return value > median * 1.25


@register.filter
def index_points(values: Sequence[int] | None, size: str = "64x18") -> str:
    """SVG polyline points for index values 0-100 over the shift, oldest at the left."""
    width, height = (int(n) for n in size.split("x"))
    points = list(values or ())
    if not points:
        return ""
    if len(points) == 1:
        points = points * 2
    step = width / (len(points) - 1)
    return " ".join(
        f"{i * step:.1f},{height - 1 - (min(100, max(0, v)) / 100) * (height - 2):.1f}"
        for i, v in enumerate(points)
    )
