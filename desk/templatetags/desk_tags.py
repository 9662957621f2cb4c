from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone

from escalation.cases.access import user_name
from escalation.cases.routing import sla_phrase, sla_state

register = template.Library()


@register.filter
def sparkline_points(values: Sequence[float] | None, size: str = "120x28") -> str:
    """SVG polyline points for sentiment values in [-1, 1]."""
    if not values:
        return ""
    width, height = (int(n) for n in size.split("x"))
    if len(values) == 1:
        values = [values[0], values[0]]
    step = width / (len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{(1 - (v + 1) / 2) * (height - 4) + 2:.1f}" for i, v in enumerate(values)
    )


@register.filter
def sentiment_label(value: float) -> str:
    if value <= -0.5:
        return "very negative"
    if value <= -0.15:
        return "negative"
    if value < 0.2:
        return "neutral"
    return "positive"


@register.filter
def trend_arrow(value: float) -> str:
    if value <= -0.15:
        return "↘"
    if value >= 0.15:
        return "↗"
    return "→"


@register.filter
def sla(case: Any) -> str:
    return sla_state(case)


@register.filter
def sla_text(case: Any) -> str:
    """'first reply due in 4 minutes', 'first reply overdue by 3 minutes', or '' when answered
    or closed."""
    return sla_phrase(case)


@register.filter
def minutes_until(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return int((moment - timezone.now()).total_seconds() // 60)


@register.filter
def as_json(value: Any) -> str:
    """Compact JSON for showing tool arguments and results (autoescaped by the template)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@register.filter
def person(user: Any, fallback: str = "someone") -> str:
    """A person's name as the desk shows it; `fallback` when there is none (an account that
    was deleted leaves a null in the audit columns)."""
    return user_name(user) if user is not None else fallback
