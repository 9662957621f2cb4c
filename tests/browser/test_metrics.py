"""The metrics page in a browser: Rita opens /metrics/, the charts draw with nothing blocked
by the Content-Security-Policy and no script error, a chart's table opens, a filter applies,
and a figure leads to its conversations, then to one's transcript."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from escalation.models import AgentProfile
from tests.desk.test_metrics_views import history
from tests.factories import agent_user
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def test_a_supervisor_reads_the_charts_and_follows_a_figure(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    rita = agent_user(role=AgentProfile.Role.SUPERVISOR, username="rita")
    rita.set_password("pw-for-tests")
    rita.save()
    rows = history(9)
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_asgi_server.url}/accounts/login/?next=/metrics/")
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", "pw-for-tests")
    page.click("button[type=submit]")

    expect(page.locator("#nav-metrics")).to_be_visible()
    for chart in ("outcome-mix", "trends", "csat", "gap"):
        svg = page.locator(f"#chart-{chart} svg")
        expect(svg).to_be_visible()
        assert svg.bounding_box()["width"] > 300
    expect(page.locator("#chart-outcome-mix rect").first).to_be_visible()
    page.locator("#chart-csat summary").click()
    expect(page.locator("#chart-csat table")).to_be_visible()
    expect(page.locator("#report-gap .caveats")).to_contain_text("Observational")

    page.select_option("select[name=topic]", "refund")
    page.click(".metrics-filters button[type=submit]")
    expect(page.locator(".metrics-range")).to_contain_text("topic Refund")
    assert "topic=refund" in page.url

    page.goto(f"{live_asgi_server.url}/metrics/?since=30d")
    page.locator(".figure a", has_text="AI only").first.click()
    expect(page.locator("h1")).to_contain_text("Path: AI only")
    assert "figure=path%3Aai_only" in page.url
    ai_only = sum(r.path == "ai_only" for r in rows)
    expect(page.locator(".contacts-table tbody tr")).to_have_count(ai_only)
    page.locator(".contacts-table tbody a").first.click()
    expect(page.locator("h1")).to_contain_text("Conversation ")
    expect(page.locator(".hint")).to_contain_text("no case was ever opened")
    assert problems == []
