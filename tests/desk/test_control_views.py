"""The supervisor controls and alerts over HTTP and the socket: supervisors only, each control
answered with its panel, bad input refused with a 400 that says why (never a 500), and the
panels and the agent's own status pushed live."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from escalation.models import AgentProfile, Alert, Case, SupervisorAudit, Team, WorkloadPolicy
from escalation.workload.controls import agent_break_start, agent_cooldown_set
from tests.desk.conftest import HTMX
from tests.desk.test_socket_access import _agent, _socket
from tests.factories import AgentProfileFactory, CaseFactory, TeamFactory, agent_user


@pytest.fixture
def rita(db: None) -> tuple[Any, Client]:
    user = agent_user(role=AgentProfile.Role.SUPERVISOR, username="rita")
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def maya(db: None) -> Any:
    return AgentProfileFactory(
        user__username="maya", user__first_name="Maya", online=True, teams=["general"]
    ).user


def url(name: str, *args: Any) -> str:
    return reverse(f"desk:{name}", args=args)


def controls(response: Any, status: int = 200) -> str:
    html = response.content.decode()
    assert response.status_code == status, html[:300]
    assert html.lstrip().startswith('<section id="supervisor-controls"'), html[:200]
    return html


# --- who may ---------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(db: None) -> None:
    response = Client().get(url("controls"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_agents_get_403_on_the_page_and_every_control(maya: Any) -> None:
    client = Client()
    client.force_login(maya)
    assert client.get(url("controls")).status_code == 403
    for name, args in [
        ("control_capacity", (maya.pk,)),
        ("control_cooldown", (maya.pk,)),
        ("control_break", (maya.pk,)),
        ("control_team", ("general",)),
        ("control_reassign", ()),
        ("control_policy", ()),
        ("alert_acknowledge", (1,)),
    ]:
        assert client.post(url(name, *args), {"capacity": "9"}).status_code == 403, name
    assert AgentProfile.objects.get(user=maya).capacity == 5
    assert SupervisorAudit.objects.count() == 0


def test_a_get_on_a_control_is_not_a_write(rita: tuple[Any, Client], maya: Any) -> None:
    _, client = rita
    response = client.get(url("control_capacity", maya.pk))
    # A desk page that says what happened, not a blank 405.
    assert response.status_code == 405
    assert "only takes a submitted form" in response.content.decode()
    assert response["Allow"] == "POST"


# --- the page --------------------------------------------------------------------------------


def test_the_page_shows_both_panels(rita: tuple[Any, Client], maya: Any) -> None:
    _, client = rita
    CaseFactory(summary_line="Wants a refund")
    page = client.get(url("controls")).content.decode()
    assert 'id="supervisor-controls"' in page and 'id="supervisor-alerts"' in page
    assert f'id="control-agent-{maya.pk}"' in page
    assert "Wants a refund" in page
    assert 'id="alert-notify-toggle"' in page
    assert "No open alerts." in page


def test_the_page_costs_the_same_queries_for_2_agents_or_20(
    rita: tuple[Any, Client], maya: Any, django_assert_num_queries: Any
) -> None:
    _, client = rita
    AgentProfileFactory(online=True, teams=["general"])
    CaseFactory()
    client.get(url("controls"))  # the session and the policy row exist from now on
    with django_assert_num_queries(12) as small:
        client.get(url("controls"))
    for _ in range(18):
        AgentProfileFactory(online=True, teams=["general", "billing"])
        CaseFactory(status=Case.Status.ASSIGNED, assignee=maya)
    with django_assert_num_queries(len(small.captured_queries)):
        page = client.get(url("controls")).content.decode()
    assert page.count('id="control-agent-') == 20


# --- capacity --------------------------------------------------------------------------------


def test_capacity_over_htmx_answers_with_the_panel(rita: tuple[Any, Client], maya: Any) -> None:
    _, client = rita
    html = controls(client.post(url("control_capacity", maya.pk), {"capacity": "3"}, headers=HTMX))
    assert "Capacity set to 3." in html
    assert AgentProfile.objects.get(user=maya).capacity == 3


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Capacity is a whole number of cases."),
        ("abc", "Capacity is a whole number of cases."),
        ("1e9", "Capacity is a whole number of cases."),
        ("99", "Capacity must be between 0 and 30 cases."),
    ],
)
def test_bad_capacity_is_a_400_that_says_why(
    rita: tuple[Any, Client], maya: Any, value: str, message: str
) -> None:
    _, client = rita
    response = client.post(url("control_capacity", maya.pk), {"capacity": value}, headers=HTMX)
    assert message in controls(response, status=400)
    assert AgentProfile.objects.get(user=maya).capacity == 5


def test_without_javascript_a_control_redirects_back_or_shows_the_page_with_the_error(
    rita: tuple[Any, Client], maya: Any
) -> None:
    _, client = rita
    done = client.post(url("control_capacity", maya.pk), {"capacity": "4", "next": "/"})
    assert (done.status_code, done["Location"]) == (302, "/")
    elsewhere = client.post(
        url("control_capacity", maya.pk), {"capacity": "4", "next": "https://evil.example/"}
    )
    assert elsewhere["Location"] == url("controls")
    refused = client.post(url("control_capacity", maya.pk), {"capacity": "x"})
    assert refused.status_code == 400
    assert "Capacity is a whole number of cases." in refused.content.decode()
    assert "<html" in refused.content.decode()


def test_a_control_on_an_unknown_agent_is_a_400(rita: tuple[Any, Client]) -> None:
    _, client = rita
    response = client.post(url("control_capacity", 999_999), {"capacity": "3"}, headers=HTMX)
    assert "No such agent" in controls(response, status=400)


# --- cool-down, break, team ---------------------------------------------------------------------


def test_cooldown_and_clearing_it(rita: tuple[Any, Client], maya: Any) -> None:
    _, client = rita
    html = controls(client.post(url("control_cooldown", maya.pk), {"minutes": "15"}, headers=HTMX))
    assert "Cool-down set" in html
    assert url("control_cooldown_clear", maya.pk) in html
    assert AgentProfile.objects.get(user=maya).cooldown_until is not None

    html = controls(client.post(url("control_cooldown_clear", maya.pk), headers=HTMX))
    assert "Cool-down cleared." in html
    again = client.post(url("control_cooldown_clear", maya.pk), headers=HTMX)
    assert "Maya has no cool-down to clear." in controls(again, status=400)
    bad = client.post(url("control_cooldown", maya.pk), {"minutes": "ten"}, headers=HTMX)
    assert "whole number of minutes" in controls(bad, status=400)


def test_a_break_with_its_reason_and_without_one(rita: tuple[Any, Client], maya: Any) -> None:
    _, client = rita
    missing = client.post(url("control_break", maya.pk), {"reason": " "}, headers=HTMX)
    assert "Say why" in controls(missing, status=400)

    html = controls(
        client.post(url("control_break", maya.pk), {"reason": "<b>Ten</b> minutes"}, headers=HTMX)
    )
    assert "Sent on a break" in html
    assert "&lt;b&gt;Ten&lt;/b&gt; minutes" in html  # escaped
    assert AgentProfile.objects.get(user=maya).presence == "away"
    assert url("control_break_end", maya.pk) in html

    controls(client.post(url("control_break_end", maya.pk), headers=HTMX))
    assert AgentProfile.objects.get(user=maya).presence == "online"


def test_the_agents_own_page_shows_their_break_and_cooldown(
    rita: tuple[Any, Client], maya: Any
) -> None:
    supervisor, _ = rita
    agent_break_start(agent_id=maya.pk, reason="Breather after a hard run", by=supervisor)
    agent_cooldown_set(agent_id=maya.pk, minutes=20, by=supervisor)
    client = Client()
    client.force_login(maya)
    page = client.get(reverse("desk:queue")).content.decode()
    assert "On a break: Breather after a hard run" in page
    assert "no new hard cases" in page
    assert '<option value="away" selected>' in page


def test_pausing_and_resuming_a_team(rita: tuple[Any, Client]) -> None:
    _, client = rita
    TeamFactory(slug="billing", name="Billing")
    html = controls(client.post(url("control_team", "billing"), {"paused": "1"}, headers=HTMX))
    assert "Auto-assignment paused." in html
    assert Team.objects.get(slug="billing").auto_assign_paused
    controls(client.post(url("control_team", "billing"), {"paused": "0"}, headers=HTMX))
    assert not Team.objects.get(slug="billing").auto_assign_paused
    bad = client.post(url("control_team", "billing"), {"paused": "maybe"}, headers=HTMX)
    assert "pause or resume" in controls(bad, status=400)
    missing = client.post(url("control_team", "nope"), {"paused": "1"}, headers=HTMX)
    assert "No team" in controls(missing, status=400)


# --- reassign --------------------------------------------------------------------------------


def test_reassigning_several_reports_what_could_not_move(
    rita: tuple[Any, Client], maya: Any
) -> None:
    _, client = rita
    easy = CaseFactory()
    skilled = CaseFactory(topic="bereavement")
    html = controls(
        client.post(
            url("control_reassign"),
            {"case": [str(easy.pk), str(skilled.pk)], "agent": str(maya.pk), "note": "balance"},
            headers=HTMX,
        )
    )
    assert "Moved 1 case to Maya." in html
    assert f"Case {skilled.pk}: This case needs the bereavement skill" in html
    easy.refresh_from_db()
    assert easy.assignee == maya


def test_reassigning_with_nothing_chosen_or_garbage_is_a_400(
    rita: tuple[Any, Client], maya: Any
) -> None:
    _, client = rita
    none = client.post(url("control_reassign"), {"agent": str(maya.pk)}, headers=HTMX)
    assert "Choose at least one case" in controls(none, status=400)
    garbage = client.post(
        url("control_reassign"), {"case": ["1; drop"], "agent": "2"}, headers=HTMX
    )
    assert "Choose cases from the list." in controls(garbage, status=400)
    no_agent = client.post(url("control_reassign"), {"case": ["1"]}, headers=HTMX)
    assert "Choose an agent" in controls(no_agent, status=400)
    all_refused = client.post(
        url("control_reassign"), {"case": ["999999"], "agent": str(maya.pk)}, headers=HTMX
    )
    assert "Case 999999: No such case." in controls(all_refused, status=400)


# --- the policy ------------------------------------------------------------------------------


def test_saving_the_policy_and_refusing_bad_values_field_by_field(
    rita: tuple[Any, Client],
) -> None:
    _, client = rita
    html = controls(
        client.post(
            url("control_policy"),
            {"hard_difficulty": "0.7", "recovery_after_hard": "2", "recovery_routing": "1"},
            headers=HTMX,
        )
    )
    assert "Workload policy saved." in html
    policy = WorkloadPolicy.objects.get(pk=1)
    assert (policy.hard_difficulty, policy.recovery_after_hard, policy.recovery_routing) == (
        0.7,
        2,
        True,
    )

    refused = controls(
        client.post(
            url("control_policy"),
            {"index_amber": "95", "occupancy_red": "nan", "recovery_routing": "1"},
            headers=HTMX,
        ),
        status=400,
    )
    assert "The policy was not saved" in refused
    assert "Enter a number." in refused
    assert 'value="95"' in refused  # what was typed stays in the form
    assert WorkloadPolicy.objects.get(pk=1).index_amber == 60
    amber = controls(
        client.post(url("control_policy"), {"index_amber": "95"}, headers=HTMX), status=400
    )
    assert "amber threshold must be below its red one" in amber


# --- alerts ----------------------------------------------------------------------------------


def _alert(**fields: Any) -> Alert:
    defaults = {
        "kind": Alert.Kind.QUEUE_SLA,
        "level": Alert.Level.RED,
        "key": "queue_sla:general",
        "team": "general",
        "message": "general queue: 2 cases past the first-reply deadline, the oldest by 12 min.",
        "raised_at": timezone.now() - timedelta(minutes=3),
    }
    return Alert.objects.create(**{**defaults, **fields})


def test_acknowledging_an_alert_answers_with_the_alerts_panel(rita: tuple[Any, Client]) -> None:
    supervisor, client = rita
    alert = _alert()
    response = client.post(url("alert_acknowledge", alert.pk), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="supervisor-alerts"')
    assert "acknowledged by Rita" in html
    alert.refresh_from_db()
    assert alert.acknowledged_by == supervisor
    missing = client.post(url("alert_acknowledge", 999_999), headers=HTMX)
    assert missing.status_code == 400
    assert "No such alert." in missing.content.decode()


# --- live ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_controls_socket_is_for_supervisors_and_resyncs_both_panels() -> None:
    maya = await _agent("maya", teams=["general"])
    from channels.testing import WebsocketCommunicator

    from config.asgi import application
    from tests.desk.test_socket_access import _cookie

    refused = WebsocketCommunicator(
        application,
        "/ws/desk/supervisor/controls/",
        headers=[(b"origin", b"http://localhost"), (b"cookie", await _cookie(maya))],
    )
    connected, code = await refused.connect()
    assert not connected and code == 4403
    await refused.disconnect()

    rita = await _agent("rita", teams=[], role=AgentProfile.Role.SUPERVISOR)
    page = await _socket("/ws/desk/supervisor/controls/", rita)
    try:
        first = await page.receive_from(timeout=5)
        second = await page.receive_from(timeout=5)
        assert 'id="supervisor-controls"' in first and 'hx-swap-oob="outerHTML"' in first
        assert 'id="supervisor-alerts"' in second
    finally:
        await page.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_control_redraws_the_controls_and_the_agents_status_live() -> None:
    maya = await _agent("maya", teams=["general"])
    rita = await _agent("rita", teams=[], role=AgentProfile.Role.SUPERVISOR)
    await database_sync_to_async(
        lambda: AgentProfile.objects.filter(user=maya).update(
            presence="online", last_seen_at=timezone.now()
        )
    )()
    console = await _socket("/ws/desk/supervisor/controls/", rita)
    desk = await _socket("/ws/desk/queue/", maya)
    try:
        for _ in range(2):
            await console.receive_from(timeout=5)
        while not await console.receive_nothing(timeout=0.3):
            await console.receive_from()
        await desk.receive_from(timeout=5)  # the queue on connect
        while not await desk.receive_nothing(timeout=0.3):
            await desk.receive_from()

        @database_sync_to_async
        def send_on_a_break() -> None:
            with TestCase.captureOnCommitCallbacks(execute=True):
                agent_break_start(agent_id=maya.pk, reason="Water and a walk", by=rita)

        await send_on_a_break()
        seen = ""
        while 'id="agent-status"' not in seen:
            seen += await desk.receive_from(timeout=5)
        assert "On a break: Water and a walk" in seen
        assert '<option value="away" selected>' in seen
        pushed = ""
        while 'id="supervisor-controls"' not in pushed:
            pushed += await console.receive_from(timeout=5)
        assert "Water and a walk" in pushed
    finally:
        await console.disconnect()
        await desk.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_new_alert_reaches_the_console_carrying_it_for_a_notification() -> None:
    rita = await _agent("rita", teams=[], role=AgentProfile.Role.SUPERVISOR)
    console = await _socket("/ws/desk/supervisor/controls/", rita)
    try:
        for _ in range(2):
            await console.receive_from(timeout=5)
        while not await console.receive_nothing(timeout=0.3):
            await console.receive_from()

        @database_sync_to_async
        def overdue_queue() -> None:
            from escalation.workload.alerts import alerts_evaluate

            case = CaseFactory(team="general")
            Case.objects.filter(pk=case.pk).update(sla_due_at=timezone.now() - timedelta(minutes=2))
            with TestCase.captureOnCommitCallbacks(execute=True):
                alerts_evaluate()

        await overdue_queue()
        pushed = ""
        while 'id="supervisor-alerts"' not in pushed:
            pushed += await console.receive_from(timeout=5)
        assert 'id="alert-notify"' in pushed
        assert "general queue: 1 case past the first-reply deadline" in pushed
    finally:
        await console.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_without_beat_a_consoles_heartbeat_evaluates_the_alerts(settings: Any) -> None:
    from escalation.workload import alerts

    settings.BATON_ALERTS_FROM_BEAT = False
    alerts._last_evaluated[0] = 0.0
    rita = await _agent("rita", teams=[], role=AgentProfile.Role.SUPERVISOR)

    @database_sync_to_async
    def overdue_queue() -> None:
        # A team Rita does not work: her coming online assigns it to nobody.
        case = CaseFactory(team="billing")
        Case.objects.filter(pk=case.pk).update(sla_due_at=timezone.now() - timedelta(minutes=2))

    await overdue_queue()
    console = await _socket("/ws/desk/supervisor/controls/", rita)
    try:
        while not await console.receive_nothing(timeout=0.3):
            await console.receive_from()
        await console.send_to(text_data='{"type": "heartbeat", "presence": "online"}')
        pushed = ""
        while 'id="alert-notify"' not in pushed:
            pushed += await console.receive_from(timeout=5)
        assert await database_sync_to_async(Alert.objects.filter(key="queue_sla:billing").exists)()
    finally:
        await console.disconnect()
