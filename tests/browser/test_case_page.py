"""The case page in headless Chromium against a live server: what Back shows, long texts,
what an observer sees, drafts and shortcuts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conversations.models import Event
from desk.limits import REPLY_MAX_CHARS
from desk.models import Macro
from escalation.cases.routing import case_pick
from tests.conftest import Desk
from tests.factories import CaseFactory, EventFactory
from tests.live import LiveServer

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
# docs/screenshots is refreshed on request (BATON_DOCS_SCREENSHOTS=1), not by every run.
SHOTS = ROOT / ("docs/screenshots" if os.environ.get("BATON_DOCS_SCREENSHOTS") else ".screenshots")


def _page(browser: Any, server: LiveServer, username: str, **options: Any) -> Page:
    """A logged-in page of its own browser context (so two people do not share a session)."""
    page = browser.new_context(**options).new_page()
    page.goto(f"{server.url}/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_selector(".topbar .who")
    return page


def _open(page: Page, server: LiveServer, desk: Desk) -> None:
    page.goto(f"{server.url}/cases/{desk.case.pk}/")
    page.wait_for_selector("#workspace")
    # The case socket's first frame: the page is live.
    expect(page.locator("#live-status")).to_have_text("Live")


def test_back_after_a_resolve_shows_the_case_as_it_is_now(
    live_asgi_server: LiveServer, desk: Desk, browser: Any
) -> None:
    case_pick(case_id=desk.case.pk, user=desk.maya)
    page = _page(browser, live_asgi_server, "maya")
    _open(page, live_asgi_server, desk)
    page.wait_for_selector("#reply-form")
    page.select_option("#resolve-outcome", "resolved")
    page.click("#resolve-form button[type=submit]")
    page.wait_for_url(lambda url: "/cases/" not in url, timeout=10_000)

    page.go_back()
    page.wait_for_selector("#workspace")
    expect(page.locator("#case-head h1")).to_contain_text("Resolved")
    expect(page.locator("#reply-form")).to_have_count(0)
    expect(page.locator("#case-head button[data-key=t]")).to_have_count(0)


def test_a_reply_over_the_limit_is_counted_kept_whole_and_not_sent(
    live_asgi_server: LiveServer, desk: Desk, browser: Any
) -> None:
    case_pick(case_id=desk.case.pk, user=desk.maya)
    page = _page(browser, live_asgi_server, "maya")
    _open(page, live_asgi_server, desk)
    counter = page.locator("#reply-text-count")
    page.fill("#reply-text", "ok")
    expect(counter).to_have_text("2 / 4,000")
    long = "a" * REPLY_MAX_CHARS + " and the end"
    page.fill("#reply-text", long)
    expect(counter).to_have_text(f"{len(long):,} / 4,000")
    expect(counter).to_have_class("counter over")
    page.click("#reply-form button[type=submit]")
    page.wait_for_timeout(500)
    # The form was not sent, and nothing was cut.
    assert page.input_value("#reply-text") == long
    assert page.evaluate("document.getElementById('reply-text').validationMessage").startswith(
        f"This is {len(long):,} characters"
    )
    assert not Event.objects.filter(conversation=desk.case.conversation, text=long).exists()
    page.fill("#reply-text", long[:REPLY_MAX_CHARS])
    page.click("#reply-form button[type=submit]")
    expect(page.locator("#reply-text")).to_have_value("")
    assert Event.objects.filter(conversation=desk.case.conversation, text=long[:REPLY_MAX_CHARS])


def _in_view(page: Page, selector: str) -> bool:
    """The element is wholly inside the window (and not scrolled out of its own column)."""
    return page.evaluate(
        """(selector) => {
            const el = document.querySelector(selector);
            if (!el) return false;
            const r = el.getBoundingClientRect();
            if (r.height === 0 || r.top < 0 || r.bottom > window.innerHeight + 1) return false;
            for (let p = el.parentElement; p; p = p.parentElement) {
                const box = p.getBoundingClientRect();
                const style = getComputedStyle(p);
                if (style.overflowY !== "visible" && (r.top < box.top - 1 || r.bottom > box.bottom + 1))
                    return false;
            }
            return true;
        }""",
        selector,
    )


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_the_packet_the_transcripts_end_and_the_reply_box_fit_one_laptop_screen(
    live_asgi_server: LiveServer, desk: Desk, browser: Any, size: tuple[int, int]
) -> None:
    for seq in range(5, 25):
        EventFactory(
            conversation=desk.case.conversation,
            seq=seq,
            role=("customer", "ai")[seq % 2],
            text=f"Message {seq}: the boots came apart at the sole after a week of walking.",
        )
    case_pick(case_id=desk.case.pk, user=desk.maya)
    width, height = size
    page = _page(browser, live_asgi_server, "maya", viewport={"width": width, "height": height})
    _open(page, live_asgi_server, desk)
    page.wait_for_selector("#reply-text")
    page.wait_for_timeout(300)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"case-{width}x{height}.png"))
    # The page itself does not scroll; each column does.
    assert page.evaluate("document.scrollingElement.scrollHeight") <= height
    for selector in (
        "#packet h2",
        "#packet .facts",
        "#actions article.action",
        "#transcript ol > li:last-child",
        "#reply-text",
        "#reply-form button[type=submit]",
        "#account h2",
    ):
        assert _in_view(page, selector), selector
    # The account panel and the timeline share the side column as tabs.
    assert not _in_view(page, "#timeline h2")
    page.click("[data-side-tab=timeline]")
    assert _in_view(page, "#timeline h2")
    assert not _in_view(page, "#account h2")
    expect(page.locator("#account li.order.discussed")).to_have_count(1)


def test_a_typed_reply_survives_a_reload_and_other_cases_and_a_canned_reply_asks_first(
    live_asgi_server: LiveServer, desk: Desk, browser: Any
) -> None:
    Macro.objects.create(name="Thanks", body="Thanks for your patience.")
    other = CaseFactory(conversation__integration=desk.bot)
    case_pick(case_id=desk.case.pk, user=desk.maya)
    case_pick(case_id=other.pk, user=desk.maya)
    page = _page(browser, live_asgi_server, "maya")
    _open(page, live_asgi_server, desk)
    # The suggested reply fills an untouched box.
    expect(page.locator("#reply-text")).to_have_value(
        "I'm sorry about the boots. Let me sort out the refund."
    )
    page.fill("#reply-text", "")
    page.type("#reply-text", "Half a thought about the boots")
    page.reload()
    page.wait_for_selector("#reply-text")
    expect(page.locator("#reply-text")).to_have_value("Half a thought about the boots")

    page.goto(f"{live_asgi_server.url}/cases/{other.pk}/")
    page.wait_for_selector("#reply-text")
    assert page.input_value("#reply-text") != "Half a thought about the boots"
    _open(page, live_asgi_server, desk)
    expect(page.locator("#reply-text")).to_have_value("Half a thought about the boots")

    # A canned reply asks before it replaces typed text: "no" keeps it, "yes" replaces it.
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    page.select_option("select.macros", label="Thanks")
    expect(page.locator("#reply-text")).to_have_value("Half a thought about the boots")
    page.select_option("select.macros", label="Thanks")
    expect(page.locator("#reply-text")).to_have_value("Thanks for your patience.")
    assert len(asked) == 2 and "Replace what you have typed" in asked[0]

    page.click("#reply-form button[type=submit]")
    expect(page.locator("#reply-text")).to_have_value("")
    page.reload()
    page.wait_for_selector("#reply-form")
    expect(page.locator("#reply-text")).to_have_value("")  # sent: the draft is gone


def test_esc_leaves_a_field_and_the_shortcuts_reach_note_transfer_and_reject(
    live_asgi_server: LiveServer, desk: Desk, browser: Any
) -> None:
    case_pick(case_id=desk.case.pk, user=desk.maya)
    page = _page(browser, live_asgi_server, "maya", viewport={"width": 1366, "height": 768})
    _open(page, live_asgi_server, desk)
    page.click("#reply-text")
    page.keyboard.type(" more")
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.id") != "reply-text"
    assert page.input_value("#reply-text").endswith(" more")  # left, not lost

    page.keyboard.press("i")
    assert page.evaluate("document.activeElement.id") == "note-text"
    page.keyboard.press("Escape")
    page.keyboard.press("m")
    assert page.evaluate("document.activeElement.id") == "transfer-target"
    page.keyboard.press("Escape")
    page.keyboard.press("x")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Rejection reason"
    page.keyboard.press("Escape")

    # The list of shortcuts: a dialog fitted to its content, over a dimmed page.
    page.keyboard.press("?")
    panel = page.locator("#shortcuts")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box is not None and box["width"] <= 560 and box["height"] < 768
    assert box["y"] >= 0 and box["y"] + box["height"] <= 768
    # The backdrop dims the whole window.
    backdrop = page.locator("#shortcuts-backdrop")
    expect(backdrop).to_be_visible()
    assert backdrop.bounding_box() == {"x": 0, "y": 0, "width": 1366, "height": 768}
    page.screenshot(path="/tmp/casepage-shortcuts.png")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    page.keyboard.press("?")
    page.mouse.click(20, 700)  # on the backdrop
    expect(panel).to_be_hidden()
