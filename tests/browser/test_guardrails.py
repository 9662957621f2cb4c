"""A supervisor edits an escalation rule in headless Chromium: preview the replay, save it as
a new version, and roll it back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

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
