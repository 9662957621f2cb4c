"""Alerts (escalation/workload/alerts.py): raised when a condition starts holding, one open per
key, acknowledged by a supervisor, cleared when the condition stops; supervisors are told."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone

from actions.models import DraftedAction
from conversations.events import SUPERVISORS_GROUP, AlertsChanged
from escalation.models import (
    AgentProfile,
    Alert,
    Case,
    ConversationState,
    SupervisorAudit,
    WorkloadPolicy,
)
from escalation.workload.alerts import (
    AlertGone,
    alert_acknowledge,
    alerts_evaluate,
    alerts_open,
    alerts_recently_cleared,
)
from tests.factories import (
    AgentProfileFactory,
    CaseFactory,
    ConversationFactory,
    DraftedActionFactory,
)

pytestmark = pytest.mark.django_db


def overdue(team: str, minutes: int, **fields: Any) -> Case:
    """A queued case whose first-reply deadline passed `minutes` ago."""
    case = CaseFactory(team=team, **fields)
    Case.objects.filter(pk=case.pk).update(sla_due_at=timezone.now() - timedelta(minutes=minutes))
    return case


def alert_pushes(pushes: list[tuple[str, Any]]) -> list[AlertsChanged]:
    return [e for g, e in pushes if g == SUPERVISORS_GROUP and e.type == "alerts.changed"]


def test_a_queue_past_its_sla_raises_one_alert_that_clears_when_the_queue_catches_up(
    pushes: list[tuple[str, Any]],
) -> None:
    case = overdue("billing", 3)
    overdue("billing", 1)
    CaseFactory(team="billing")  # not overdue
    now = timezone.now()

    with TestCase.captureOnCommitCallbacks(execute=True):
        result = alerts_evaluate(now=now)

    alert = Alert.objects.get()
    assert result.raised == (alert.pk,)
    assert (alert.kind, alert.key, alert.team, alert.level) == (
        "queue_sla",
        "queue_sla:billing",
        "billing",
        "amber",
    )
    assert (
        alert.message
        == "billing queue: 2 cases past the first-reply deadline, the oldest by 3 min."
    )
    assert alert.raised_at == now
    assert alert_pushes(pushes) == [AlertsChanged(raised=[alert.pk])]

    # Evaluating again changes nothing and tells nobody.
    pushes.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert not alerts_evaluate().changed
    assert alert_pushes(pushes) == []
    assert Alert.objects.count() == 1

    Case.objects.filter(team="billing").update(first_response_at=timezone.now())
    later = timezone.now()
    with TestCase.captureOnCommitCallbacks(execute=True):
        result = alerts_evaluate(now=later)
    alert.refresh_from_db()
    assert result.cleared == (alert.pk,)
    assert alert.cleared_at == later
    assert alert_pushes(pushes) == [AlertsChanged(raised=[])]
    assert case.pk  # the case itself is untouched by alerts
    assert alerts_open() == []
    assert alerts_recently_cleared() == [alert]


def test_a_queue_long_past_its_sla_turns_red_and_asks_for_acknowledgement_again() -> None:
    rita = AgentProfileFactory(role=AgentProfile.Role.SUPERVISOR).user
    case = overdue("general", 2)
    alerts_evaluate()
    alert = Alert.objects.get()
    alert_acknowledge(alert_id=alert.pk, user=rita)

    Case.objects.filter(pk=case.pk).update(sla_due_at=timezone.now() - timedelta(minutes=12))
    result = alerts_evaluate()
    alert.refresh_from_db()
    assert result.raised == (alert.pk,)
    assert alert.level == "red"
    assert (alert.acknowledged_at, alert.acknowledged_by) == (None, None)
    # Still one alert for the key: it changed, it was not raised twice.
    assert Alert.objects.count() == 1


def test_a_condition_that_returns_after_clearing_raises_a_new_alert() -> None:
    case = overdue("general", 2)
    alerts_evaluate()
    Case.objects.filter(pk=case.pk).update(first_response_at=timezone.now())
    alerts_evaluate()
    overdue("general", 1)
    alerts_evaluate()
    first, second = Alert.objects.order_by("id")
    assert first.cleared_at is not None
    assert second.cleared_at is None


def test_assigned_or_answered_cases_are_not_a_queue_past_its_sla() -> None:
    maya = AgentProfileFactory().user
    overdue("general", 5, status=Case.Status.ASSIGNED, assignee=maya)
    answered = overdue("general", 5)
    Case.objects.filter(pk=answered.pk).update(first_response_at=timezone.now())
    assert alerts_evaluate().raised == ()


def held(minutes: int) -> DraftedAction:
    """An action approved by an agent and held for a supervisor `minutes` ago."""
    case = CaseFactory(status=Case.Status.ASSIGNED, assignee=AgentProfileFactory().user)
    drafted = DraftedActionFactory(case=case, conversation=case.conversation)
    DraftedAction.objects.filter(pk=drafted.pk).update(
        held_at=timezone.now() - timedelta(minutes=minutes),
        decision={"decision": "needs_approval", "approver": "supervisor", "reasons": []},
    )
    return drafted


def test_approvals_waiting_longer_than_the_policy_allows_raise_an_alert() -> None:
    WorkloadPolicy.objects.update_or_create(pk=1, defaults={"approvals_wait_minutes": 10})
    held(4)
    assert alerts_evaluate().raised == ()

    held(12)
    alerts_evaluate()
    alert = Alert.objects.get()
    assert (alert.key, alert.level) == ("approvals_waiting", "amber")
    assert alert.message == (
        "1 approval waiting more than 10 min for a supervisor, the oldest 12 min."
    )

    held(31)
    alerts_evaluate()
    alert.refresh_from_db()
    assert alert.level == "red"
    assert alert.data == {"late": 2, "oldest_minutes": 31}


def test_approvals_on_resolved_cases_do_not_count() -> None:
    drafted = held(30)
    Case.objects.filter(pk=drafted.case_id).update(status=Case.Status.RESOLVED)
    assert alerts_evaluate().raised == ()


def test_acknowledging_records_who_and_when_once_and_is_audited(
    pushes: list[tuple[str, Any]],
) -> None:
    rita = AgentProfileFactory(role=AgentProfile.Role.SUPERVISOR).user
    sam = AgentProfileFactory(role=AgentProfile.Role.SUPERVISOR).user
    overdue("general", 2)
    alerts_evaluate()
    alert = Alert.objects.get()

    with TestCase.captureOnCommitCallbacks(execute=True):
        alert_acknowledge(alert_id=alert.pk, user=rita)
    alert_acknowledge(alert_id=alert.pk, user=sam)  # already acknowledged: unchanged
    alert.refresh_from_db()
    assert alert.acknowledged_by == rita
    assert alert.acknowledged_at is not None
    assert alert.cleared_at is None
    assert list(SupervisorAudit.objects.values_list("kind", "by")) == [
        ("alert_acknowledge", rita.pk)
    ]
    assert alert_pushes(pushes) == [AlertsChanged(raised=[])]
    with pytest.raises(AlertGone):
        alert_acknowledge(alert_id=999_999, user=rita)


def test_open_alerts_list_red_first() -> None:
    overdue("general", 2)
    overdue("billing", 20)
    alerts_evaluate()
    assert [a.key for a in alerts_open()] == ["queue_sla:billing", "queue_sla:general"]


# --- agents (the board's index and occupancy) -----------------------------------------------


def busy_agent(username: str, **fields: Any) -> Any:
    """An agent at the desk all shift, who has had a run of hard cases and holds one."""
    start = timezone.now() - timedelta(hours=2)
    profile = AgentProfileFactory(
        user__username=username,
        user__first_name=username.title(),
        online=True,
        presence_since=start,
        **fields,
    )
    for n in range(4):
        CaseFactory(
            status=Case.Status.RESOLVED,
            assignee=profile.user,
            assigned_at=start + timedelta(minutes=25 * n),
            resolved_at=start + timedelta(minutes=25 * n + 24),
            first_response_at=start + timedelta(minutes=25 * n + 1),
            difficulty=0.9,
        )
    CaseFactory(
        status=Case.Status.ASSIGNED,
        assignee=profile.user,
        assigned_at=timezone.now() - timedelta(minutes=10),
        difficulty=0.9,
    )
    return profile.user


def test_an_agent_over_the_index_thresholds_raises_an_alert_that_clears_when_they_leave() -> None:
    maya = busy_agent("maya")
    AgentProfileFactory(user__username="idle", online=True)
    # Thresholds are data: low ones make any working agent amber.
    WorkloadPolicy.objects.update_or_create(pk=1, defaults={"index_amber": 1, "index_red": 100})
    alerts_evaluate()
    alert = Alert.objects.get(kind="agent_index")
    assert (alert.key, alert.agent, alert.level) == (f"agent_index:{maya.pk}", maya, "amber")
    assert alert.message.startswith("Maya: intensification index ")
    assert "(amber at 1)" in alert.message

    WorkloadPolicy.objects.filter(pk=1).update(index_red=2)
    alerts_evaluate()
    alert.refresh_from_db()
    assert alert.level == "red"
    assert "(red at 2)" in alert.message

    AgentProfile.objects.filter(user=maya).update(presence=AgentProfile.Presence.OFFLINE)
    alerts_evaluate()
    alert.refresh_from_db()
    assert alert.cleared_at is not None


def test_an_agent_at_red_occupancy_raises_an_occupancy_alert() -> None:
    maya = busy_agent("maya")
    WorkloadPolicy.objects.update_or_create(
        pk=1, defaults={"occupancy_amber": 0.1, "occupancy_red": 0.2}
    )
    alerts_evaluate()
    alert = Alert.objects.get(kind="occupancy")
    assert (alert.key, alert.level, alert.agent) == (f"occupancy:{maya.pk}", "red", maya)
    assert "red at 20%" in alert.message


# --- team intensification ---------------------------------------------------------------------


def test_hard_contacts_concentrated_on_people_raise_the_desk_and_team_alerts() -> None:
    for _ in range(2):
        CaseFactory(team="billing", difficulty=0.8)
    for _ in range(2):
        # Conversations the AI kept, calm and short: easy.
        ConversationState.objects.create(conversation=ConversationFactory(), risk=0.0)
    alerts_evaluate()
    alerts = {a.key: a for a in Alert.objects.filter(kind="team_intensification")}
    assert set(alerts) == {"team_intensification:*", "team_intensification:billing"}
    desk = alerts["team_intensification:*"]
    assert desk.level == "red"
    assert desk.data["ratio"] >= 1.6
    assert desk.message.startswith("The desk: intensification ")
    assert alerts["team_intensification:billing"].team == "billing"

    # Enough easy contacts reach people too: the ratio falls under amber, the alerts clear.
    for _ in range(12):
        CaseFactory(team="billing", difficulty=0.05)
    alerts_evaluate()
    assert not Alert.objects.filter(kind="team_intensification", cleared_at=None).exists()


def test_an_index_hovering_just_under_the_line_keeps_its_alert_until_clearly_under() -> None:
    maya = busy_agent("maya")
    WorkloadPolicy.objects.update_or_create(pk=1, defaults={"index_amber": 1, "index_red": 100})
    alerts_evaluate()
    alert = Alert.objects.get(kind="agent_index")
    index = alert.data["index"]
    assert index >= 3

    # The line moves just above her index: within the margin, the alert stays open.
    WorkloadPolicy.objects.filter(pk=1).update(index_amber=index + 2)
    assert alerts_evaluate().cleared == ()
    alert.refresh_from_db()
    assert (alert.cleared_at, alert.level) == (None, "amber")
    # Clearly under it: cleared.
    WorkloadPolicy.objects.filter(pk=1).update(index_amber=index + 6)
    assert alerts_evaluate().cleared == (alert.pk,)
    assert maya.pk == alert.agent_id
