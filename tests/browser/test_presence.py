"""A status a person chose survives their desk going quiet: Away, the desk closed for longer
than the presence timeout (the sweep marks them offline), and reopened, is still Away, and
nothing is assigned to them."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from escalation.cases.lifecycle import cases_sweep
from escalation.cases.routing import PRESENCE_TIMEOUT
from escalation.models import AgentProfile, Case
from tests.factories import CaseFactory, agent_user
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def _presence(user: Any) -> str:
    return AgentProfile.objects.get(user=user).presence


def _wait_for(user: Any, presence: str) -> None:
    for _ in range(100):
        if _presence(user) == presence:
            return
        time.sleep(0.1)
    raise AssertionError(f"presence is {_presence(user)}, not {presence}")


def test_away_survives_closing_the_desk_past_the_timeout(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    maya = agent_user(username="maya")
    maya.set_password("pw-for-tests")
    maya.save()

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(f"{live_asgi_server.url}/")
    page.fill("input[name=username]", "maya")
    page.fill("input[name=password]", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_selector("#queue-empty")
    _wait_for(maya, AgentProfile.Presence.ONLINE)
    page.select_option("select[name=presence]", "away")
    _wait_for(maya, AgentProfile.Presence.AWAY)
    page.close()

    # The desk stays closed past the timeout: the sweep marks the silent agent offline.
    AgentProfile.objects.filter(user=maya).update(
        last_seen_at=timezone.now() - PRESENCE_TIMEOUT - timedelta(seconds=5)
    )
    cases_sweep()
    assert _presence(maya) == AgentProfile.Presence.OFFLINE
    cases = [CaseFactory() for _ in range(3)]

    page = context.new_page()
    page.goto(f"{live_asgi_server.url}/")
    expect(page.locator("select[name=presence]")).to_have_value("away")
    _wait_for(maya, AgentProfile.Presence.AWAY)
    page.wait_for_timeout(500)  # the load heartbeat, and an assigner that might follow it
    assert _presence(maya) == AgentProfile.Presence.AWAY
    assert not Case.objects.filter(pk__in=[c.pk for c in cases], assignee=maya).exists()
    page.screenshot(path="/tmp/engine-presence-away-1366.png")
    context.close()
