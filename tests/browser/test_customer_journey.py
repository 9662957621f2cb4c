"""The customer's whole journey in two browsers (issue 13): the customer verifies in the widget
and asks for a $150 refund; the assistant hands off with the refund drafted, and the widget
shows the queue position; the agent takes the case, approves the refund and replies; the
customer sees the agent's name and the reply, a reload in the middle loses nothing, and the
customer rates both parts."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from actions.models import DraftedAction
from conversations.models import Conversation
from escalation.models import Case
from store.models import Payment
from tests.factories import agent_user, store_scenario
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def _wait_for(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def _say(page: Any, text: str) -> None:
    page.fill("#chat-input", text)
    page.keyboard.press("Enter")


def test_verify_ask_for_a_refund_wait_meet_the_agent_and_rate_both(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    store = store_scenario()
    maya = agent_user(username="maya")
    maya.set_password("pw-for-tests")
    maya.first_name = "Maya"
    maya.save()
    server = live_asgi_server.url

    customer = browser.new_page(viewport={"width": 390, "height": 844})
    errors: list[str] = []
    customer.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    customer.goto(f"{server}/chat/")
    log = customer.locator("#chat-log")
    _say(customer, f"Hi, my email is {store.customer.email}")
    expect(log.locator(".msg-ai")).to_have_count(1)
    _say(customer, f"I want a refund of $150 on order {store.delivered.order_id}")

    # The assistant may not refund $150: it hands off with the refund drafted, and the widget
    # shows the queue (the position; no wait, this desk has no history to estimate one).
    queue = customer.locator("#chat-queue")
    expect(queue).to_contain_text("You're in the queue", timeout=15_000)
    expect(queue).to_contain_text("You're number 1 in the queue.")
    expect(queue).not_to_contain_text("min")
    case = _wait_for(lambda: Case.objects.filter(status=Case.Status.QUEUED).first())
    drafted = _wait_for(
        lambda: DraftedAction.objects.filter(case=case, tool="refund_payment").first()
    )
    assert Decimal(drafted.args["amount"]) == Decimal("150")

    # The agent opens the desk (online: the case is assigned to her), then the case.
    agent = browser.new_page(viewport={"width": 1366, "height": 768})
    agent.goto(f"{server}/")
    agent.fill("input[name=username]", "maya")
    agent.fill("input[name=password]", "pw-for-tests")
    agent.click("button[type=submit]")
    agent.wait_for_selector(".topbar .topnav")
    _wait_for(lambda: Case.objects.filter(pk=case.pk, assignee=maya).exists())
    agent.goto(f"{server}/cases/{case.pk}/")
    expect(customer.locator("#chat-log .msg-agent")).to_contain_text("Maya", timeout=15_000)
    expect(queue).not_to_contain_text("in the queue")

    # A reload in the middle: everything shown once, nothing lost.
    shown = log.locator(".msg").count()
    customer.reload()
    expect(log.locator(".msg")).to_have_count(shown)

    agent.locator(f"#action-{drafted.pk} button.approve").click()
    expect(agent.locator(".flash")).to_contain_text("refund_payment done.", timeout=15_000)
    agent.fill("#reply-text", "I've refunded $150 to your card.")
    agent.click("#reply button[type=submit]")
    expect(log.locator(".msg-agent").last).to_contain_text(
        "I've refunded $150 to your card.", timeout=15_000
    )
    refund = _wait_for(
        lambda: Payment.objects.filter(
            order=store.delivered, transaction_type=Payment.Type.REFUND
        ).first()
    )
    assert refund.amount == Decimal("150.00")

    # The chat ends: both parts are asked about, once each.
    customer.locator("#chat-more summary").click()
    customer.locator("#chat-end").click()
    legends = customer.locator("#chat-survey legend")
    expect(legends).to_have_count(2)
    expect(legends.nth(0)).to_contain_text("Did the assistant help?")
    expect(legends.nth(1)).to_contain_text("Did Maya help?")
    conversation = Conversation.objects.get(pk=case.conversation_id)
    for part, rating in (("ai", 4), ("human", 5)):
        form = customer.locator(f".survey-part[data-part={part}]")
        form.locator(f"input[value='{rating}']").check()
        form.locator("button[type=submit]").click()
        _wait_for(
            lambda part=part: conversation.events.filter(
                type="feedback", payload__part=part
            ).exists()
        )
    ratings = sorted(
        conversation.events.filter(type="feedback").values_list("payload__part", "payload__rating")
    )
    assert ratings == [("ai", 4), ("human", 5)]
    assert not errors, errors
