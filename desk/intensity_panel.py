"""The console's team-intensification panel: the ratio over the last 24 hours, a chart of
the last 30 days and of the last 24 hours, and each team's ratio (docs/workload.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string

from escalation.models import Team, WorkloadPolicy
from escalation.workload.board import team_intensification, workload_policy
from escalation.workload.intensity import IntensityPoint

TEMPLATE = "desk/supervisor/_intensity.html"
CHART_WIDTH, CHART_HEIGHT = 300, 60


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    level: str
    label: str


def ratio_level(ratio: float | None, policy: WorkloadPolicy) -> str:
    if ratio is None:
        return ""
    if ratio >= policy.intensification_red:
        return "red"
    if ratio >= policy.intensification_amber:
        return "amber"
    return ""


def _label(point: IntensityPoint, when: str) -> str:
    if point.ratio is None:
        return f"{when}: no contact reached a person"
    return (
        f"{when}: {point.ratio:.2f} ({point.human_contacts} of {point.contacts} contacts "
        "reached a person)"
    )


def _bars(
    points: Sequence[IntensityPoint], *, top: float, policy: WorkloadPolicy, when: str
) -> list[Bar]:
    slot = CHART_WIDTH / max(len(points), 1)
    bars = []
    for n, point in enumerate(points):
        height = 0.0 if point.ratio is None else min(point.ratio, top) / top * CHART_HEIGHT
        bars.append(
            Bar(
                x=round(n * slot + 1, 1),
                y=round(CHART_HEIGHT - height, 1),
                width=round(max(slot - 2, 1), 1),
                height=round(height, 1),
                level=ratio_level(point.ratio, policy),
                label=_label(point, point.start.strftime(when)),
            )
        )
    return bars


def _y(value: float, top: float) -> float:
    return round(CHART_HEIGHT - min(value, top) / top * CHART_HEIGHT, 1)


def intensity_context(*, now: datetime | None = None) -> dict[str, Any]:
    intensity = team_intensification(now=now, days=30)
    policy = workload_policy()
    ratios = [p.ratio for p in (*intensity.daily, *intensity.hourly) if p.ratio is not None]
    top = max([policy.intensification_red * 1.25, 2.0, *ratios])
    names = dict(Team.objects.values_list("slug", "name"))
    return {
        "intensity": intensity,
        "intensity_level": intensity.level,
        "daily_bars": _bars(intensity.daily, top=top, policy=policy, when="%d %b"),
        "hourly_bars": _bars(intensity.hourly, top=top, policy=policy, when="%H:00"),
        "chart": {
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
            "one": _y(1.0, top),
            "amber": _y(policy.intensification_amber, top),
            "red": _y(policy.intensification_red, top),
        },
        "policy": policy,
        "team_ratios": [
            {"name": names.get(slug, slug), "ratio": ratio, "level": ratio_level(ratio, policy)}
            for slug, ratio in intensity.by_team.items()
        ],
    }


def intensity_fragment(*, oob: bool = False, now: datetime | None = None) -> str:
    return render_to_string(
        f"{TEMPLATE}#intensification", {**intensity_context(now=now), "oob": oob}
    )
