"""The customer's chat widget in Chromium: a keyboard-only send, the message shown at once
and marked delivered, a reload that keeps everything, an agent's reply, and the layout on a
laptop, a desktop and a phone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation
from tests.live import LiveServer
from tests.widget.conftest import agent_says
from widget.tokens import WidgetSession

pytestmark = pytest.mark.browser

VIEWPORTS = {"1366": (1366, 768), "1920": (1920, 1080), "phone": (390, 844)}


def _session(page: Any) -> WidgetSession:
    stored = page.evaluate("JSON.parse(localStorage.getItem('baton-widget')).token")
    from widget.tokens import conversation_token_read

    session = conversation_token_read(stored)
    assert session is not None
    return session


def visible(session: WidgetSession) -> int:
    return (
        Conversation.objects.get(external_id=session.conversation)
        .events.filter(type__in=["message", "handoff", "close"])
        .count()
    )


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_chat_from_the_keyboard_and_reload_keeps_everything(
    live_asgi_server: LiveServer, browser: Any, size: str
) -> None:
    width, height = VIEWPORTS[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_asgi_server.url}/chat/")
    expect(page.locator("#chat-log")).to_have_attribute("role", "log")
    expect(page.locator("#chat-log")).to_have_attribute("aria-relevant", "additions")
    expect(page.locator("#chat-consent")).to_contain_text("AI assistant")
    # No one is online at the desk: said, with an email reply offered.
    expect(page.locator("#chat-offline")).to_be_visible()

    # Keyboard only: Tab to the message box, type, Enter sends.
    for _ in range(30):
        if page.evaluate("document.activeElement && document.activeElement.id") == "chat-input":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "chat-input"
    page.keyboard.type("Where is my order #W123?")
    page.keyboard.press("Enter")
    own = page.locator("#chat-log .msg-customer")
    expect(own).to_have_count(1)
    expect(own).to_contain_text("Where is my order #W123?")
    expect(own.locator(".msg-status")).to_have_text("Delivered")

    session = _session(page)
    # The assistant answers at once (it asks who the customer is before any order read).
    log = page.locator("#chat-log")
    expect(log.locator(".msg-ai")).to_have_count(1)
    page.keyboard.type("I'd like to talk to a person")
    page.keyboard.press("Enter")
    expect(page.locator("#chat-queue")).to_contain_text("You're in the queue")
    expect(page.locator("#chat-queue")).to_have_attribute("aria-live", "polite")
    # The position, and no wait: this desk has no history to estimate one from.
    expect(page.locator("#chat-queue")).to_contain_text("You're number 1 in the queue.")
    expect(page.locator("#chat-queue")).not_to_contain_text("min")
    page.screenshot(path=f"/tmp/widget-queue-{size}.png")
    agent_says(session, "Hi, I'm Maya. Anything else?")
    # Pushes from this test process do not reach the server's; a reload resumes from the
    # record, with nothing lost or shown twice.
    shown = visible(session)
    page.reload()
    expect(log.locator(".msg-agent")).to_contain_text("Maya")
    expect(log.locator(".msg")).to_have_count(shown)
    expect(own).to_have_count(2)
    expect(own.first.locator(".msg-status")).to_have_text("Delivered")
    page.reload()
    expect(log.locator(".msg")).to_have_count(shown)
    page.screenshot(path=f"/tmp/widget-chat-{size}.png")

    # The chat ends: the survey asks about both parts, once.
    page.locator("#chat-more summary").click()
    page.locator("#chat-end").click()
    expect(page.locator("#chat-survey")).to_be_visible()
    legends = page.locator("#chat-survey legend")
    expect(legends).to_have_count(2)
    expect(legends.nth(0)).to_contain_text("Did the assistant help?")
    expect(legends.nth(1)).to_contain_text("Did Maya help?")
    page.screenshot(path=f"/tmp/widget-survey-{size}.png", full_page=True)
    ai = page.locator(".survey-part[data-part=ai]")
    ai.locator("input[value='4']").check()
    ai.locator("button[type=submit]").click()
    expect(page.locator(".survey-thanks")).to_have_count(1)
    page.reload()
    expect(page.locator("#chat-survey legend")).to_have_count(1)
    expect(page.locator("#chat-new")).to_be_visible()
    conversation = Conversation.objects.get(external_id=session.conversation)
    assert conversation.events.filter(type="feedback", payload__part="ai").count() == 1
    assert not errors, errors
