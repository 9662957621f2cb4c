"""The customer's chat widget in Chromium: a keyboard-only send, the message shown at once
and marked delivered, a reload that keeps everything, an agent's reply, and the layout on a
laptop, a desktop and a phone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
    offline = page.locator("#chat-offline")
    expect(offline).to_be_visible()
    expect(offline.locator("summary")).to_contain_text("No one from our team is online")

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


class Shop:
    """A shop's site on another origin (another port), serving a page with Baton's snippet."""

    def __init__(self) -> None:
        self.snippet = ""
        shop = self

        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = f"<!doctype html><title>Shop</title><h1>Boots</h1>{shop.snippet}".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    site = Shop()
    # Read by the live server's process when it starts (it inherits the environment).
    monkeypatch.setenv("BATON_WIDGET_ALLOWED_ORIGINS", site.url)
    yield site
    site.server.shutdown()


def test_the_snippet_embeds_the_chat_on_a_shops_page(
    shop: Shop, live_asgi_server: LiveServer, browser: Any
) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    shop.snippet = f'<script src="{live_asgi_server.url}/static/widget/embed.js" defer></script>'
    page.goto(f"{shop.url}/")
    launcher = page.locator("button[aria-controls=baton-chat-frame]")
    expect(launcher).to_have_text("Chat with us")
    launcher.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#baton-chat-frame")).to_be_visible()
    chat = page.frame_locator("#baton-chat-frame")
    chat.locator("#chat-input").fill("Do you ship to Canada?")
    chat.locator("#chat-input").press("Enter")
    own = chat.locator("#chat-log .msg-customer")
    expect(own.locator(".msg-status")).to_have_text("Delivered")
    expect(chat.locator("#chat-log .msg-ai")).to_have_count(1)
    page.screenshot(path="/tmp/widget-embedded-1366.png")
    page.get_by_role("button", name="Close chat").click()
    expect(page.locator("#baton-chat-frame")).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")


def test_a_dropped_socket_is_announced_and_resumes_without_loss(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    sockets: list[Any] = []

    def through(ws: Any) -> None:
        # The page's socket passes through to the server; the test can cut it.
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket("**/ws/widget/", through)
    page.goto(f"{live_asgi_server.url}/chat/")
    page.locator("#chat-input").fill("First message")
    page.locator("#chat-input").press("Enter")
    expect(page.locator("#chat-log .msg-customer .msg-status")).to_have_text("Delivered")
    expect(page.locator("#chat-log .msg-ai")).to_have_count(1)
    alert = page.locator("#chat-alert")
    expect(alert).to_have_attribute("role", "alert")
    sockets[-1].close()
    expect(alert).to_have_text("Connection lost. Reconnecting…")
    expect(alert).to_have_text("Reconnected.", timeout=10_000)
    assert len(sockets) == 2
    page.locator("#chat-input").fill("Second message")
    page.locator("#chat-input").press("Enter")
    own = page.locator("#chat-log .msg-customer")
    expect(own).to_have_count(2)
    expect(own.nth(1).locator(".msg-status")).to_have_text("Delivered")
    session = _session(page)
    expect(page.locator("#chat-log .msg")).to_have_count(visible(session))



def test_a_chat_kept_for_another_customer_on_this_browser_is_not_resumed(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{live_asgi_server.url}/chat/")
    page.fill("#chat-input", "Where is my parcel?")
    page.keyboard.press("Enter")
    expect(page.locator("#chat-log .msg-customer .msg-status")).to_have_text("Delivered")
    first = _session(page).conversation
    # The same visitor reloading gets their conversation back...
    page.reload()
    expect(page.locator("#chat-log .msg-customer")).to_have_count(1)
    assert _session(page).conversation == first
    # ...a page for someone else (the shop's signed customer differs) starts afresh.
    page.evaluate(
        "(() => { const s = JSON.parse(localStorage.getItem('baton-widget'));"
        " s.customer = 'someone-else'; localStorage.setItem('baton-widget', JSON.stringify(s)); })()"
    )
    page.reload()
    page.wait_for_timeout(500)
    expect(page.locator("#chat-log .msg-customer")).to_have_count(0)
    assert _session(page).conversation != first
