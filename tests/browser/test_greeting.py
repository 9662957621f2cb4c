"""The customer is greeted when the agent who holds the case opens it in the browser, not when
it is assigned; a reload greets nobody again."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from conversations.models import Event
from escalation.cases.routing import cases_auto_assign
from escalation.models import AgentProfile
from tests.factories import CaseFactory, agent_user
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def test_an_auto_assigned_case_greets_when_its_agent_opens_it(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    leo = agent_user(username="leo")
    leo.set_password("pw-for-tests")
    leo.save()
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{live_asgi_server.url}/")
    page.fill("input[name=username]", "leo")
    page.fill("input[name=password]", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_selector("#queue-empty")
    for _ in range(100):
        if AgentProfile.objects.filter(user=leo, presence="online").exists():
            break
        time.sleep(0.1)
    case = CaseFactory(conversation__customer_name="Dana Reyes")
    # Leo's desk coming online sets off the server's own assigner, which may take the case
    # first: either way it is Leo's.
    cases_auto_assign()
    for _ in range(100):
        case.refresh_from_db()
        if case.assignee_id is not None:
            break
        time.sleep(0.1)
    assert case.assignee_id == leo.pk
    greetings = Event.objects.filter(conversation=case.conversation, role="agent")
    assert not greetings.exists()  # assigned, not yet looked at

    page.goto(f"{live_asgi_server.url}/cases/{case.pk}/")
    expect(page.locator("#transcript .role-agent")).to_contain_text(
        "Hi Dana, I'm Leo from the support team."
    )
    expect(page.locator("#timeline")).to_contain_text("Leo greeted the customer")
    page.reload()
    expect(page.locator("#transcript .role-agent")).to_have_count(1)
    assert greetings.count() == 1
    page.screenshot(path="/tmp/engine-greeting-on-open-1366.png")
