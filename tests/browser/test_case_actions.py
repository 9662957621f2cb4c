"""Actions on the case page in headless Chromium: an agent starts one with a live policy
preview, a denied draft offers Edit, and an approval held for a supervisor lights the
supervisor's badge without a reload."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from actions.models import DraftedAction
from actions.services import action_draft
from escalation.cases.routing import case_pick
from escalation.models import AgentProfile
from store.models import Order
from tests.factories import CaseFactory, OrderFactory, agent_user, store_scenario
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def _person(username: str, first_name: str, role: str = AgentProfile.Role.AGENT) -> Any:
    user = agent_user(username=username, role=role)
    user.set_password("pw-for-tests")
    user.first_name = first_name
    user.save()
    return user


def _login(browser: Any, server: LiveServer, username: str) -> Any:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    blocked: list[str] = []
    page.on(
        "console",
        lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.blocked = blocked
    page.goto(f"{server.url}/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_selector(".topbar .topnav")
    return page


def test_an_agent_starts_an_action_with_a_live_preview_and_a_supervisor_hears_of_a_hold(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    store = store_scenario()
    maya = _person("maya", "Maya")
    _person("rita", "Rita", role=AgentProfile.Role.SUPERVISOR)
    case = CaseFactory(
        conversation__account_id=store.customer.customer_id,
        conversation__customer_name=f"{store.customer.first_name} {store.customer.last_name}",
    )
    case_pick(case_id=case.pk, user=maya)
    big = OrderFactory(
        customer=store.customer,
        status=Order.Status.DELIVERED,
        items=[store.boots_black] * 6,
        paid_with=store.card,
    )
    denied = action_draft(
        tool="refund_payment",
        args={"order_id": store.delivered.order_id, "amount": "5000.00", "reason": "defective"},
        drafted_by="ai",
        account_id=store.customer.customer_id,
        conversation=case.conversation,
        case=case,
    )

    rita = _login(browser, live_asgi_server, "rita")
    badge = rita.locator("#approvals-badge")
    expect(badge).to_have_text("Approvals")

    page = _login(browser, live_asgi_server, "maya")
    page.goto(f"{live_asgi_server.url}/cases/{case.pk}/")
    card = page.locator(f"#action-{denied.pk}")
    expect(card.locator("button.approve")).to_have_count(0)
    expect(card.get_by_role("button", name="Approve edited")).to_be_visible()

    page.click("#action-start summary")
    page.select_option("select[name=tool]", "cancel_pending_order")
    form = page.locator("form.tool-args")
    expect(form).to_be_visible()
    form.locator("input[name=order_id]").fill(store.pending.order_id)
    form.locator("select[name=reason]").select_option("no longer needed")
    expect(page.locator("#action-preview")).to_contain_text("policy: allow", timeout=10_000)
    expect(page.locator("#action-start-submit")).to_have_text("Run it now")
    page.screenshot(path="/tmp/actions-start-preview.png", full_page=True)
    page.click("#action-start-submit")
    expect(page.locator(".flash")).to_contain_text("cancel_pending_order done.", timeout=10_000)
    store.pending.refresh_from_db()
    assert store.pending.status == Order.Status.CANCELLED
    started = DraftedAction.objects.get(tool="cancel_pending_order")
    expect(page.locator(f"#action-{started.pk}")).to_contain_text("started by Maya")

    # Over an agent's authority: the preview says so before the click; the supervisor's badge
    # lights up live.
    page.click("#action-start summary")  # the page after a start shows the form closed
    page.select_option("select[name=tool]", "refund_payment")
    form = page.locator("form.tool-args")
    form.locator("input[name=order_id]").fill(big.order_id)
    form.locator("input[name=amount]").fill("600.00")
    form.locator("textarea[name=reason]").fill("boots fell apart")
    expect(page.locator("#action-preview")).to_contain_text(
        "needs_approval (supervisor)", timeout=10_000
    )
    expect(page.locator("#action-start-submit")).to_have_text("Ask a supervisor to approve")
    page.click("#action-start-submit")
    expect(page.locator(".flash")).to_contain_text("It waits for a supervisor", timeout=10_000)
    expect(badge).to_contain_text("1", timeout=10_000)
    rita.screenshot(path="/tmp/actions-badge.png")
    rita.click("#approvals-badge")
    rita.click(f"a[href^='/cases/{case.pk}/']")
    held = DraftedAction.objects.get(tool="refund_payment", started_by=maya)
    rita_card = rita.locator(f"#action-{held.pk}")
    expect(rita_card).to_contain_text("Waiting for a supervisor's approval: asked by Maya")
    rita_card.locator("button.approve").click()
    expect(rita.locator(".flash")).to_contain_text("refund_payment done.", timeout=10_000)
    for _ in range(50):
        held.refresh_from_db()
        if held.status == DraftedAction.Status.EXECUTED:
            break
        time.sleep(0.1)
    assert held.status == DraftedAction.Status.EXECUTED
    assert big.payments.filter(transaction_type="refund").get().amount == Decimal("600.00")
    expect(rita.locator("#approvals-badge")).to_have_text("Approvals", timeout=10_000)
    assert page.blocked == [] and rita.blocked == []
