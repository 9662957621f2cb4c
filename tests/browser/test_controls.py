"""The supervisor's controls in headless Chromium: a refused input shows why in the panel (a
400 swapped in, not dropped), and a break sent from the controls reaches the agent's open
desk live: their status switch says Away with the reason, and their heartbeat keeps it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from escalation.models import AgentProfile
from tests.browser.test_case_actions import _login, _person
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def test_a_refusal_shows_in_the_panel_and_a_break_reaches_the_agents_desk(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    _person("maya", "Maya")
    _person("rita", "Rita", role=AgentProfile.Role.SUPERVISOR)

    maya = _login(browser, live_asgi_server, "maya")
    expect(maya.locator("#live-status")).to_have_text("Live")
    rita = _login(browser, live_asgi_server, "rita")
    rita.goto(f"{live_asgi_server.url}/supervisor/controls/")
    expect(rita.locator("#live-status")).to_have_text("Live")
    row = rita.locator("#supervisor-controls tr", has_text="Maya")
    expect(row).to_contain_text("Online")

    # The browser's own check would stop 99 before the server sees it: take it away (once
    # the socket's resync has redrawn the panel).
    rita.wait_for_timeout(500)
    row.locator("input[name=capacity]").evaluate("el => el.removeAttribute('max')")
    row.locator("input[name=capacity]").fill("99")
    row.locator("button", has_text="Set").click()
    expect(rita.locator("#control-flash .control-error")).to_have_text(
        "Capacity must be between 0 and 30 cases."
    )

    row = rita.locator("#supervisor-controls tr", has_text="Maya")
    row.locator("input[name=reason]").fill("Ten minutes after a hard run")
    row.locator("button", has_text="Send on a break").click()
    expect(rita.locator("#control-flash .control-notice")).to_contain_text("Sent on a break")

    expect(maya.locator("#agent-status")).to_contain_text(
        "On a break: Ten minutes after a hard run"
    )
    expect(maya.locator("#presence-select")).to_have_value("away")
    # A heartbeat from her desk (the switch's change) keeps the break rather than undoing it.
    maya.locator("#presence-select").dispatch_event("change")
    time.sleep(0.5)
    assert AgentProfile.objects.get(user__username="maya").presence == "away"
    assert rita.blocked == [] and maya.blocked == []
