"""An agent's open queue page shows a new case, pushed, when a handoff is ingested."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from conversations.services import integration_create
from escalation.models import AgentProfile
from tests.conftest import event
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def _post_events(server: LiveServer, token: str, events: list[dict[str, Any]]) -> list[dict]:
    request = urllib.request.Request(
        f"{server.url}/api/v1/events",
        data=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["results"]


def test_a_handoff_appears_on_the_open_queue_page(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    user = get_user_model().objects.create_user(
        username="maya", password="pw-for-tests", first_name="Maya"
    )
    AgentProfile.objects.create(user=user)
    _, token = integration_create(name="acme-bot")

    page = browser.new_page()
    # The Content-Security-Policy allows no inline script or style: nothing may trip it.
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{live_asgi_server.url}/")
    page.fill("input[name=username]", "maya")
    page.fill("input[name=password]", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_selector("#queue-empty")
    # The socket's first frame (the whole queue) shows it is live before anything is ingested.
    page.wait_for_selector("#queue-list", state="attached")
    page.wait_for_timeout(300)

    customer = {"external_id": "u-42", "name": "Noah Brown", "email": "noah@example.com"}
    results = _post_events(
        live_asgi_server,
        token,
        [
            event("e1", "web-77", 1, text="Where is my tent?", customer=customer),
            {
                "type": "handoff",
                "id": "e2",
                "conversation": "web-77",
                "seq": 2,
                "at": "2026-11-27T10:00:05Z",
                "reason": "customer_request",
                "note": "Customer asked for a person",
            },
        ],
    )
    assert [r["status"] for r in results] == ["stored", "stored"]

    card = page.wait_for_selector("li.card:has-text('web-77')", timeout=10_000)
    assert "Noah Brown" in card.inner_text()
    assert "customer request" in card.inner_text()
    assert page.locator("#queue-empty").count() == 0
    # No reload happened: the page is the one we logged in on.
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert blocked == []


def test_a_filtered_view_stays_filtered_while_its_counts_follow_pushes(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    user = get_user_model().objects.create_user(
        username="maya", password="pw-for-tests", first_name="Maya"
    )
    # No room: the handoff stays unassigned rather than coming to her.
    AgentProfile.objects.create(user=user, capacity=0)
    _, token = integration_create(name="acme-bot")

    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{live_asgi_server.url}/")
    page.fill("input[name=username]", "maya")
    page.fill("input[name=password]", "pw-for-tests")
    page.click("button[type=submit]")
    page.goto(f"{live_asgi_server.url}/?view=unassigned&priority=high")
    page.wait_for_selector("#view-unassigned.current")
    assert page.inner_text("#view-count-unassigned") == "0"
    page.fill("input[name=q]", "half-typed sear")
    page.wait_for_timeout(300)

    customer = {"external_id": "u-42", "name": "Noah Brown", "email": "noah@example.com"}
    _post_events(
        live_asgi_server,
        token,
        [
            event("e1", "web-88", 1, text="Where is my tent?", customer=customer),
            {
                "type": "handoff",
                "id": "e2",
                "conversation": "web-88",
                "seq": 2,
                "at": "2026-11-27T10:00:05Z",
                "reason": "customer_request",
            },
        ],
    )
    # The tab counts it, live; the list keeps its filter (an AI handoff is not high priority).
    page.wait_for_selector("#view-count-unassigned:text-is('1')", timeout=10_000)
    assert page.locator("li.card").count() == 0
    assert "match the filters" in page.inner_text("#queue-list")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    # What was being typed in the search box survived the push.
    assert page.input_value("input[name=q]") == "half-typed sear"

    # Choosing a filter applies it (no button needed); the view is kept.
    page.fill("input[name=q]", "")
    page.select_option("select[name=priority]", "")
    page.wait_for_selector("li.card:has-text('web-88')", timeout=10_000)
    assert "view=unassigned" in page.url and "priority=high" not in page.url
    assert "Noah Brown" in page.inner_text("li.card")
