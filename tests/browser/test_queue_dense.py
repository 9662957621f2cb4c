"""The queue at 1366x768 in headless Chromium: a dense list, two short lines a case, however
long what the customer wrote (#10, point 12). It also takes the docs' queue screenshot."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_case_page import SHOTS, _page
from tests.factories import CaseFactory, agent_user
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def test_the_queue_fits_a_dozen_cases_of_two_lines_on_a_laptop_screen(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    agent_user(username="maya")
    for n in range(30):
        CaseFactory(
            priority=40 + n,
            topic="delivery_delay",
            conversation__customer_name=f"Customer Number {n} With A Long Family Name",
            summary_line="My order was supposed to be here a week ago and nobody answers " * 3,
        )
    page = _page(browser, live_asgi_server, "maya", viewport={"width": 1366, "height": 768})
    page.wait_for_selector("#queue-cards li.card")
    heights = page.eval_on_selector_all(
        "#queue-cards li.card", "cards => cards.map(c => c.getBoundingClientRect().height)"
    )
    assert len(heights) == 30
    # Two lines of text and padding: every row the same height (the last has no bottom
    # border), under 3.5 lines of body text.
    assert max(heights) - min(heights) <= 1.5, heights
    assert max(heights) <= 3.5 * 16, heights
    on_screen = page.eval_on_selector_all(
        "#queue-cards li.card",
        "cards => cards.filter(c => c.getBoundingClientRect().bottom <= innerHeight).length",
    )
    assert on_screen >= 10, on_screen
    assert page.inner_text("#queue-cards li.card .topic") == "Delivery delay"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "queue-1366x768.png"))
