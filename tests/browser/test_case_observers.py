"""Two people on one case in headless Chromium: the one watching sees the other typing, then
their reply with the header and timeline redrawn, without a reload (#10, points 13 and 15)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from escalation.cases.routing import case_pick
from escalation.models import AgentProfile
from tests.browser.test_case_page import _open, _page
from tests.conftest import Desk
from tests.factories import agent_user
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def test_a_watching_supervisor_sees_the_holder_type_and_reply_live(
    live_asgi_server: LiveServer, desk: Desk, browser: Any
) -> None:
    agent_user(role=AgentProfile.Role.SUPERVISOR, username="rita")
    case_pick(case_id=desk.case.pk, user=desk.maya)
    maya = _page(browser, live_asgi_server, "maya")
    rita = _page(browser, live_asgi_server, "rita")
    _open(maya, live_asgi_server, desk)
    _open(rita, live_asgi_server, desk)
    expect(rita.locator("#case-viewers")).to_contain_text("viewing")
    expect(rita.locator("#case-head")).to_contain_text("first reply due")

    maya.fill("#reply-text", "")
    maya.type("#reply-text", "On it: the refund goes back to your card.")
    expect(rita.locator("#case-viewers")).to_contain_text("typing")
    expect(rita.locator("#case-viewers")).to_contain_text("Someone else is writing")

    maya.click("#reply-form button[type=submit]")
    expect(rita.locator("#transcript")).to_contain_text("the refund goes back to your card")
    expect(rita.locator("#case-head")).not_to_contain_text("first reply due")
    expect(rita.locator("#timeline")).to_contain_text("First reply")
    assert rita.evaluate("performance.getEntriesByType('navigation').length") == 1
