"""A supervisor edits an escalation rule and an authority limit in headless Chromium: preview,
save it as a new version, and roll it back."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from actions.models import Actor
from actions.services import authority_limits
from escalation.models import AgentProfile, Rule
from escalation.rules import DEFAULT_RULES
from tests.browser.test_case_actions import _login, _person
from tests.live import LiveServer

pytestmark = pytest.mark.browser

TURNS_3 = {"all": [{"field": "customer_turns", "op": ">=", "value": 3}]}


def test_a_supervisor_previews_saves_and_rolls_back_a_rule(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    spec = DEFAULT_RULES[0]
    rule, _ = Rule.objects.update_or_create(
        code=spec.code,
        defaults={"name": spec.name, "condition": spec.condition, "priority": spec.priority},
    )
    _person("rita", "Rita", role=AgentProfile.Role.SUPERVISOR)
    page = _login(browser, live_asgi_server, "rita")

    page.goto(f"{live_asgi_server.url}/supervisor/rules/")
    page.get_by_role("link", name=spec.name).click()
    expect(page.locator("h1")).to_contain_text(spec.name)

    page.fill("#rule-condition", '{"all": [{"field": "mood"')
    page.get_by_role("button", name="Preview the last 30 days").click()
    expect(page.locator("#rule-editor .error")).to_contain_text("Not JSON")

    page.fill("#rule-condition", json.dumps(TURNS_3))
    page.fill("#rule-priority", "70")
    page.get_by_role("button", name="Preview the last 30 days").click()
    expect(page.locator("#rule-editor h2")).to_have_text("Replay of the last 30 days")
    expect(page.locator("#would-now")).to_be_visible()
    # Back to the form with the edit kept, then the preview again.
    page.get_by_role("button", name="Change the edit").click()
    expect(page.locator("#rule-priority")).to_have_value("70")
    page.get_by_role("button", name="Preview the last 30 days").click()
    expect(page.locator("#would-now")).to_be_visible()
    rule.refresh_from_db()
    assert rule.priority == spec.priority

    page.fill("#rule-note", "three turns first")
    page.get_by_role("button", name="Save as version 2").click()
    expect(page.locator(".flash")).to_contain_text("Saved version 2")
    expect(page.locator("#version-2")).to_contain_text("three turns first")
    rule.refresh_from_db()
    assert (rule.condition, rule.priority) == (TURNS_3, 70)

    page.get_by_role("button", name="Roll back to v1").click()
    expect(page.locator(".flash")).to_contain_text("it is version 3 now")
    expect(page.locator("#version-3")).to_contain_text("rollback to v1")
    rule.refresh_from_db()
    assert (rule.condition, rule.priority) == (spec.condition, spec.priority)
    assert page.blocked == []


def test_a_supervisor_lowers_the_ai_limit_and_rolls_it_back(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    _person("rita", "Rita", role=AgentProfile.Role.SUPERVISOR)
    page = _login(browser, live_asgi_server, "rita")

    page.goto(f"{live_asgi_server.url}/supervisor/limits/")
    page.get_by_role("link", name="Edit AI").click()
    page.fill("#limit-max_refund", "12.345")
    page.get_by_role("button", name="Preview the change").click()
    expect(page.locator("#limit-editor .error")).to_have_text("At most 2 decimal places.")

    page.fill("#limit-max_refund", "40")
    page.get_by_role("button", name="Preview the change").click()
    expect(page.locator(".change-max_refund")).to_contain_text("$40.00")
    page.get_by_role("button", name="Save as version 2").click()
    expect(page.locator(".flash")).to_contain_text("Saved version 2")
    assert authority_limits()[Actor.AI].max_refund == Decimal("40.00")

    page.get_by_role("button", name="Roll back to v1").click()
    expect(page.locator(".flash")).to_contain_text("it is version 3 now")
    assert authority_limits()[Actor.AI].max_refund == Decimal("100.00")
    assert page.blocked == []
