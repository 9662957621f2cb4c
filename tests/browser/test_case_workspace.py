"""The agent's whole path through a case, in headless Chromium against a live server, with a
real protocol client on the other side."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from websockets.sync.client import ClientConnection, connect

from conversations.services import integration_create
from escalation.models import AgentProfile
from store.models import Payment
from tests.factories import agent_user, store_scenario
from tests.live import LiveServer

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".screenshots"


def _frames(socket: ClientConnection, kind: str, *, seconds: float = 20) -> list[dict[str, Any]]:
    """Read frames until one of `kind` arrives (acks and others are skipped)."""
    seen = []
    while True:
        frame = json.loads(socket.recv(timeout=seconds))
        seen.append(frame)
        if frame["type"] == kind:
            return seen


def _event(event_id: str, seq: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "conversation": "web-501",
        "seq": seq,
        "at": "2026-11-27T10:00:00Z",
        **fields,
    }


def test_an_agent_takes_approves_replies_and_resolves(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    store = store_scenario()
    agent = agent_user(username="maya")
    agent.set_password("pw-for-tests")
    agent.first_name = "Maya"
    agent.save()
    AgentProfile.objects.filter(user=agent).update(capacity=3)
    _, token = integration_create(name="acme-bot")
    order_id = store.delivered.order_id
    customer = store.customer

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
    # The page's socket marks the agent online; wait for it, as the router would.
    for _ in range(100):
        if AgentProfile.objects.filter(user=agent, presence="online").exists():
            break
        time.sleep(0.1)

    with connect(
        f"{live_asgi_server.ws_url}/ws/ingest/v1/",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=10,
    ) as platform:
        ref = {
            "external_id": customer.customer_id,
            "name": f"{customer.first_name} {customer.last_name}",
        }
        events = [
            _event(
                "e1",
                1,
                type="message",
                role="customer",
                customer=ref,
                text=f"My boots from order {order_id} fell apart after a week. I want $150 back.",
            ),
            _event(
                "e2",
                2,
                type="tool_call",
                tool="refund_payment",
                status="denied",
                args={"order_id": order_id, "amount": "150.00", "reason": "defective boots"},
            ),
            _event(
                "e3",
                3,
                type="message",
                role="ai",
                text="I'm not able to issue that refund myself, so I'm bringing in a specialist.",
            ),
            _event("e4", 4, type="handoff", reason="policy", note="Refund over the AI's limit"),
        ]
        platform.send(json.dumps(events))
        frames = _frames(platform, "control")
        assert frames[-1] == {
            "type": "control",
            "conversation": "web-501",
            "owner": "human",
            "by": "ai",
        }
        # The case arrives live and the online agent with room gets it.
        while len([f for f in frames if f["type"] == "ack"]) < 4:
            frames.append(json.loads(platform.recv(timeout=10)))
        assert [f["status"] for f in frames if f["type"] == "ack"] == ["stored"] * 4
        page.wait_for_selector("li.card:has-text('web-501')", timeout=10_000)
        # Pushes re-render the list, so click through a locator (it re-finds the card).
        page.locator("li.card:has-text('web-501') a").click()

        page.wait_for_selector("#packet")
        # The customer is told who has their conversation once the agent opens it.
        frames += _frames(platform, "message")
        greeting = frames[-1]
        assert greeting["role"] == "agent"
        assert "Maya" in greeting["text"] and "context" in greeting["text"]
        assert "150" in page.inner_text("#packet")
        account = page.inner_text("#account")
        assert customer.first_name in account
        assert order_id in account
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "case.png"), full_page=True)

        action = page.locator("article.action").first
        assert "policy: allow" in action.inner_text()
        action.locator("button.approve").click()
        page.wait_for_selector("article.action-executed", timeout=10_000)
        refund = Payment.objects.get(order=store.delivered, transaction_type="refund")
        assert refund.amount == Decimal("150.00")

        # A reply being written survives another action on the page (here, a note)...
        page.fill("#reply-text", "I've refunded $150 to your card. Sorry about the boots!")
        page.fill(".note-form input[name=text]", "Refund done; boots were defective.")
        page.click(".note-form button[type=submit]")
        # The note shows inline in the conversation (the timeline is the side column's other tab).
        page.wait_for_selector(
            "#transcript .note-inline:has-text('boots were defective')", timeout=10_000
        )
        assert page.input_value("#reply-text").startswith("I've refunded $150")
        # The reply's answer is held back until the live redraw that the reply causes has
        # replaced the form, as happens on a loaded server: the box still empties.
        held: list[Any] = []
        page.route("**/reply/", lambda route: held.append((route, route.fetch())))
        page.evaluate("window.batonAskingForm = document.getElementById('reply-form')")
        page.click("#reply button[type=submit]")
        replaced = "document.getElementById('reply-form') !== window.batonAskingForm"
        # Route handlers run only while Playwright has the thread: wait here (not in a socket
        # read) until the held request has been sent on and the redraw has landed.
        for _ in range(200):
            if held and page.evaluate(replaced):
                break
            page.wait_for_timeout(50)
        assert page.evaluate(replaced)
        message = _frames(platform, "message")[-1]
        route, response = held[0]
        route.fulfill(response=response)
        page.unroute("**/reply/")
        assert message["text"] == "I've refunded $150 to your card. Sorry about the boots!"
        assert message["conversation"] == "web-501"
        # ...and is emptied once sent.
        expect(page.locator("#reply-text")).to_have_value("")

        page.select_option("#resolve-outcome", "resolved")
        page.click("#resolve-form button[type=submit]")
        page.wait_for_url(lambda url: "/cases/" not in url, timeout=10_000)
    assert blocked == []
