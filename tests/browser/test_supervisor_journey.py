"""The supervisor's journey the console exists for, in a browser against a live server with a
real AI platform on the other side: Maya has had a run of hard cases this shift; one more
hard customer reaches her and Rita sees her row go red, live. Rita sets a cool-down from the
console, and the next hard customer goes to Leo, though Maya holds less."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from websockets.sync.client import ClientConnection, connect

from conversations.services import integration_create
from escalation.models import AgentProfile, Case, Team, WorkloadPolicy
from escalation.workload.board import agents_workload
from tests.browser.test_case_actions import _login, _person
from tests.factories import CaseFactory
from tests.live import LiveServer

pytestmark = pytest.mark.browser

ANGRY = (
    "This is the THIRD time I'm writing about this. The tent you sold me leaked on the first "
    "night, nobody answers, and I'm done: refund me today or I dispute the charge with my bank "
    "and cancel everything. This is a joke. Get me a real person NOW."
)


def _angry_customer(platform: ClientConnection, conversation: str) -> None:
    def event(n: int, **fields: Any) -> dict[str, Any]:
        return {
            "id": f"{conversation}-{n}",
            "conversation": conversation,
            "seq": n,
            "at": timezone.now().isoformat(),
            **fields,
        }

    platform.send(
        json.dumps(
            [
                event(1, type="message", role="customer", text=ANGRY),
                event(2, type="message", role="ai", text="I'm bringing in a person now."),
                event(3, type="handoff", reason="customer_request", note="Angry, burned"),
            ]
        )
    )
    acks = 0
    while acks < 3:
        frame = json.loads(platform.recv(timeout=20))
        acks += frame["type"] == "ack"


def _routed(conversation: str) -> Case:
    for _ in range(200):
        case = Case.objects.filter(conversation__external_id=conversation).first()
        if case is not None and case.assignee_id is not None:
            return case
        time.sleep(0.1)
    cases = list(Case.objects.values("conversation__external_id", "status", "assignee_id"))
    raise AssertionError(f"{conversation} was not assigned: {cases}")


def _hard_run(user: Any, *, cases: int) -> None:
    """Hard, upset cases Maya worked and closed earlier this shift."""
    now = timezone.now()
    for n in range(cases):
        taken = now - timedelta(minutes=30 + 25 * n)
        CaseFactory(
            team="general",
            status=Case.Status.RESOLVED,
            assignee=user,
            assigned_at=taken,
            first_response_at=taken + timedelta(minutes=2),
            resolved_at=taken + timedelta(minutes=20),
            difficulty=0.9,
            sentiment=-0.8,
            risk=0.8,
        )


def test_a_supervisor_sees_a_hard_run_turn_red_sets_a_cool_down_and_routing_honours_it(
    live_asgi_server: LiveServer, browser: Any
) -> None:
    general, _ = Team.objects.get_or_create(slug="general", defaults={"name": "General"})
    maya = _person("maya", "Maya")
    leo = _person("leo", "Leo")
    _person("rita", "Rita", role=AgentProfile.Role.SUPERVISOR)
    AgentProfile.objects.filter(user__username="rita").update(capacity=0)
    for user in (maya, leo):
        user.agent_profile.teams.add(general)
    AgentProfile.objects.filter(user__in=[maya, leo]).update(capacity=5)
    _hard_run(maya, cases=3)
    # Leo holds more (two easy cases of weight), so routing would pick Maya for the next one.
    for _ in range(2):
        CaseFactory(
            team="general",
            status=Case.Status.ASSIGNED,
            assignee=leo,
            assigned_at=timezone.now() - timedelta(minutes=5),
            difficulty=0.1,
            weight=2.0,
        )
    _, token = integration_create(name="acme-bot")

    maya_desk = _login(browser, live_asgi_server, "maya")
    leo_desk = _login(browser, live_asgi_server, "leo")
    for _ in range(100):
        if AgentProfile.objects.filter(presence="online").count() == 2:
            break
        time.sleep(0.1)
    # The thresholds are data: red is one point above where Maya stands now.
    before = next(row for row in agents_workload() if row.user_id == maya.pk)
    WorkloadPolicy.objects.update_or_create(
        pk=1,
        defaults={
            "hard_difficulty": 0.3,
            "index_amber": max(before.index - 10, 1),
            "index_red": before.index + 1,
        },
    )

    console = _login(browser, live_asgi_server, "rita")
    console.goto(f"{live_asgi_server.url}/supervisor/")
    expect(console.locator("#live-status")).to_have_text("Live", timeout=10_000)
    row = console.locator(f"#agent-{maya.pk}")
    expect(row).not_to_have_class(re.compile(r"\blevel-red\b"))

    with connect(
        f"{live_asgi_server.ws_url}/ws/ingest/v1/",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=10,
    ) as platform:
        _angry_customer(platform, "web-701")
        first = _routed("web-701")
        assert first.assignee_id == maya.pk
        assert first.difficulty >= 0.3
        # The board hears of it and Maya's row turns red, without a reload.
        expect(row).to_have_class(re.compile(r"\blevel-red\b"), timeout=10_000)

        # Rita sets a cool-down from the console.
        controls = console.locator(f"#control-agent-{maya.pk}")
        controls.locator("input[name=minutes]").fill("30")
        controls.locator("button", has_text="Cool down").click()
        expect(console.locator(f"#control-agent-{maya.pk} .cooldown")).to_contain_text("Until")
        assert AgentProfile.objects.get(user=maya).cooldown_until > timezone.now()

        _angry_customer(platform, "web-702")
        second = _routed("web-702")
        assert second.difficulty >= 0.3
        assert second.assignee_id == leo.pk
    expect(maya_desk.locator("#agent-status")).to_contain_text("Cool-down")
    assert console.blocked == [] and maya_desk.blocked == [] and leo_desk.blocked == []
