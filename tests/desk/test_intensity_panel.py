"""The console's team-intensification panel: the last 24 hours' ratio at its level, a bar per
day for 30 days and per hour for 24, each bar labelled with what it counts, and each team."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from desk.intensity_panel import intensity_fragment
from escalation.models import Team, WorkloadPolicy
from tests.escalation.test_workload_board import NOW, _ai_only, _human, minutes

pytestmark = pytest.mark.django_db


def test_the_panel_shows_the_ratio_its_level_and_a_bar_for_each_day_and_hour() -> None:
    Team.objects.get_or_create(slug="billing", defaults={"name": "Billing"})
    hour = NOW.replace(minute=0)
    _human(hour + minutes(5), 0.8, team="billing")
    _human(hour + minutes(10), 0.6)
    _ai_only(hour + minutes(1), risk=0.05, customer_turns=2)
    _ai_only(hour + minutes(2), risk=0.1, sentiment=0.3, customer_turns=4)
    _ai_only(NOW - timedelta(days=3), risk=0.1)

    html = intensity_fragment(now=NOW)

    bars = re.findall(r'<rect class="bar level-(\w+)"[^>]*><title>([^<]*)</title>', html)
    assert len(bars) == 30 + 24
    daily, hourly = bars[:30], bars[30:]
    # Today and this hour: two of four contacts reached a person, both hard ones (red).
    assert daily[-1][0] == "red" and "2 of 4 contacts reached a person" in daily[-1][1]
    assert hourly[-1][0] == "red" and hourly[-1][1].startswith("16:00: ")
    # Three days ago only the AI answered: no ratio, said so, no level.
    assert daily[-4] == ("ok", f"{(NOW - timedelta(days=3)):%d %b}: no contact reached a person")
    assert 'class="ratio level-red"' in html
    assert "Billing" in html and "General" not in html.split("team-ratios")[0]


def test_the_levels_follow_the_policy_thresholds() -> None:
    hour = NOW.replace(minute=0)
    _human(hour + minutes(5), 0.6)
    _ai_only(hour + minutes(1), risk=0.05, customer_turns=2)
    WorkloadPolicy.objects.update_or_create(
        pk=1, defaults={"intensification_amber": 5.0, "intensification_red": 9.0}
    )
    html = intensity_fragment(now=NOW)
    assert 'class="ratio level-ok"' in html
    assert "Amber at 5.00, red at 9.00" in html
