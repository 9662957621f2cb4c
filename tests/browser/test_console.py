"""The supervisor console in a browser: Rita watches the board while Maya opens her desk and
steps away (each pushed to Rita's row, nothing polled), then opens Maya's detail, with the
Content-Security-Policy blocking nothing."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from escalation.models import AgentProfile, Team
from tests.factories import CaseFactory, agent_user
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def _login(browser: Any, server: LiveServer, username: str, path: str) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{server.url}/accounts/login/?next={path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-for-tests")
    page.click("button[type=submit]")
    return page, blocked


def test_a_supervisor_sees_an_agent_arrive_and_step_away_live(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    general, _ = Team.objects.get_or_create(slug="general", defaults={"name": "General"})
    rita = agent_user(role=AgentProfile.Role.SUPERVISOR, username="rita")
    maya = agent_user(username="maya")
    for user in (rita, maya):
        user.set_password("pw-for-tests")
        user.first_name = user.username.title()
        user.save()
    maya.agent_profile.teams.add(general)
    AgentProfile.objects.filter(user=rita).update(capacity=0)
    CaseFactory(team="general")

    console, blocked = _login(browser, live_asgi_server, "rita", "/supervisor/")
    row = console.locator(f"#agent-{maya.pk}")
    expect(row.locator(".presence-badge")).to_have_text("Offline", timeout=10_000)
    expect(console.locator("#health-general")).to_contain_text("General")
    expect(console.locator("#live-status")).to_have_text("Live", timeout=10_000)

    desk, desk_blocked = _login(browser, live_asgi_server, "maya", "/")
    # Her desk puts her online, and the queued case goes to her: both reach Rita's row.
    expect(row.locator(".presence-badge")).to_have_text("Online", timeout=10_000)
    expect(row.locator(".cases .line")).to_have_text("1/5", timeout=10_000)
    desk.select_option("select[name=presence]", "away")
    expect(row.locator(".presence-badge")).to_have_text("Away", timeout=10_000)

    row.locator(".agent a").click()
    expect(console.locator("#agent-detail.open")).to_contain_text("The index's parts")
    assert console.url.endswith(f"/supervisor/agents/{maya.pk}/")
    expect(console.locator("#agent-detail .detail-cases").first).to_contain_text("Case ")
    console.locator("#agent-detail .close").click()
    expect(console.locator("#agent-detail.open")).to_have_count(0)
    assert blocked == [] and desk_blocked == []
