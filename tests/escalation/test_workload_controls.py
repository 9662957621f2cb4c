"""Supervisor controls (escalation/workload/controls.py): each changes what it says, writes
one SupervisorAudit row, refuses bad input in words, and tells the supervisors' pages and the
agent's own after commit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone

from conversations.events import SUPERVISORS_GROUP, agent_group
from escalation.models import (
    AgentProfile,
    Case,
    CaseEvent,
    PresenceChange,
    SupervisorAudit,
    Team,
    WorkloadPolicy,
)
from escalation.workload.controls import (
    ControlError,
    PolicyInvalid,
    agent_break_end,
    agent_break_start,
    agent_capacity_set,
    agent_cooldown_clear,
    agent_cooldown_set,
    cases_reassign,
    team_auto_assign_set,
    workload_policy_update,
)
from escalation.workload.policy import workload_policy
from tests.factories import AgentProfileFactory, CaseFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rita() -> Any:
    return AgentProfileFactory(user__username="rita", role=AgentProfile.Role.SUPERVISOR).user


@pytest.fixture
def maya() -> Any:
    return AgentProfileFactory(user__username="maya", user__first_name="Maya", online=True).user


def shape(pushes: list[tuple[str, Any]]) -> set[tuple[str, str]]:
    return {(group, event.type) for group, event in pushes}


def audits() -> list[tuple[str, int | None]]:
    return list(SupervisorAudit.objects.order_by("id").values_list("kind", "agent_id"))


# --- capacity ---------------------------------------------------------------------------


def test_capacity_changes_audits_and_tells_supervisors_and_the_agent(
    rita: Any, maya: Any, pushes: list[tuple[str, Any]]
) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        agent_capacity_set(agent_id=maya.pk, capacity=2, by=rita)

    assert AgentProfile.objects.get(user=maya).capacity == 2
    assert audits() == [("capacity", maya.pk)]
    assert SupervisorAudit.objects.get().data == {"from": 5, "to": 2}
    assert SupervisorAudit.objects.get().by == rita
    assert {
        (SUPERVISORS_GROUP, "workload.changed"),
        (agent_group(maya.pk), "agent.status"),
    } <= shape(pushes)


@pytest.mark.parametrize("capacity", [-1, 31])
def test_capacity_out_of_range_is_refused(rita: Any, maya: Any, capacity: int) -> None:
    with pytest.raises(ControlError, match="between 0 and 30"):
        agent_capacity_set(agent_id=maya.pk, capacity=capacity, by=rita)
    assert audits() == []


def test_an_agent_may_not_use_a_control(maya: Any) -> None:
    leo = AgentProfileFactory(user__username="leo").user
    with pytest.raises(ControlError, match="Only a supervisor"):
        agent_capacity_set(agent_id=leo.pk, capacity=1, by=maya)


def test_a_raised_capacity_gives_the_agent_waiting_cases(rita: Any, maya: Any) -> None:
    AgentProfile.objects.filter(user=maya).update(capacity=0)
    case = CaseFactory()
    with TestCase.captureOnCommitCallbacks(execute=True):
        agent_capacity_set(agent_id=maya.pk, capacity=1, by=rita)
    case.refresh_from_db()
    assert case.assignee == maya


# --- cool-down ------------------------------------------------------------------------------


def test_a_cooldown_sets_its_end_and_clearing_ends_it(
    rita: Any, maya: Any, pushes: list[tuple[str, Any]]
) -> None:
    now = timezone.now()
    with TestCase.captureOnCommitCallbacks(execute=True):
        agent_cooldown_set(agent_id=maya.pk, minutes=15, by=rita, now=now)
    assert AgentProfile.objects.get(user=maya).cooldown_until == now + timedelta(minutes=15)
    assert (agent_group(maya.pk), "agent.status") in shape(pushes)

    agent_cooldown_clear(agent_id=maya.pk, by=rita)
    assert AgentProfile.objects.get(user=maya).cooldown_until is None
    assert audits() == [("cooldown", maya.pk), ("cooldown_clear", maya.pk)]
    with pytest.raises(ControlError, match="Maya has no cool-down to clear"):
        agent_cooldown_clear(agent_id=maya.pk, by=rita)


def test_a_cooldown_without_minutes_lasts_the_policys_default(rita: Any, maya: Any) -> None:
    WorkloadPolicy.objects.update_or_create(pk=1, defaults={"cooldown_minutes": 7})
    now = timezone.now()
    agent_cooldown_set(agent_id=maya.pk, minutes=None, by=rita, now=now)
    assert AgentProfile.objects.get(user=maya).cooldown_until == now + timedelta(minutes=7)


@pytest.mark.parametrize("minutes", [0, 241])
def test_a_cooldown_out_of_range_is_refused(rita: Any, maya: Any, minutes: int) -> None:
    with pytest.raises(ControlError, match="1 to 240 minutes"):
        agent_cooldown_set(agent_id=maya.pk, minutes=minutes, by=rita)


def test_a_control_on_a_missing_agent_is_refused(rita: Any) -> None:
    with pytest.raises(ControlError, match="No such agent"):
        agent_cooldown_set(agent_id=999_999, minutes=5, by=rita)


# --- pausing a team -------------------------------------------------------------------------


def test_pausing_and_resuming_a_team_is_audited_once_each(
    rita: Any, pushes: list[tuple[str, Any]]
) -> None:
    TeamFactory(slug="billing")
    with TestCase.captureOnCommitCallbacks(execute=True):
        team_auto_assign_set(team="billing", paused=True, by=rita)
    team_auto_assign_set(team="billing", paused=True, by=rita)  # no change: no second row
    assert Team.objects.get(slug="billing").auto_assign_paused
    team_auto_assign_set(team="billing", paused=False, by=rita)
    assert not Team.objects.get(slug="billing").auto_assign_paused
    assert list(SupervisorAudit.objects.order_by("id").values_list("kind", "team")) == [
        ("auto_assign_pause", "billing"),
        ("auto_assign_resume", "billing"),
    ]
    assert (SUPERVISORS_GROUP, "workload.changed") in shape(pushes)
    with pytest.raises(ControlError, match="No team 'nope'"):
        team_auto_assign_set(team="nope", paused=True, by=rita)


# --- breaks ---------------------------------------------------------------------------------


def test_a_break_makes_the_agent_away_with_the_reason_and_logs_who_sent_them(
    rita: Any, maya: Any, pushes: list[tuple[str, Any]]
) -> None:
    now = timezone.now()
    with TestCase.captureOnCommitCallbacks(execute=True):
        agent_break_start(
            agent_id=maya.pk, reason="  Ten minutes after a hard run ", by=rita, now=now
        )

    profile = AgentProfile.objects.get(user=maya)
    assert (profile.presence, profile.chosen_presence, profile.away_reason) == (
        "away",
        "away",
        "Ten minutes after a hard run",
    )
    assert profile.presence_since == now
    change = PresenceChange.objects.get()
    assert (change.user, change.presence, change.reason, change.by, change.at) == (
        maya,
        "away",
        "Ten minutes after a hard run",
        rita,
        now,
    )
    assert audits() == [("break", maya.pk)]
    assert (agent_group(maya.pk), "agent.status") in shape(pushes)

    with pytest.raises(ControlError, match="already away"):
        agent_break_start(agent_id=maya.pk, reason="again", by=rita)
    agent_break_end(agent_id=maya.pk, by=rita)
    profile.refresh_from_db()
    assert (profile.presence, profile.chosen_presence, profile.away_reason) == (
        "online",
        "online",
        "",
    )
    assert list(PresenceChange.objects.values_list("presence", flat=True)) == ["away", "online"]
    with pytest.raises(ControlError, match="not on a break"):
        agent_break_end(agent_id=maya.pk, by=rita)


@pytest.mark.parametrize(
    ("reason", "message"), [("  ", "Say why"), ("x" * 121, "at most 120 characters")]
)
def test_a_break_needs_a_short_reason(rita: Any, maya: Any, reason: str, message: str) -> None:
    with pytest.raises(ControlError, match=message):
        agent_break_start(agent_id=maya.pk, reason=reason, by=rita)
    assert AgentProfile.objects.get(user=maya).presence == "online"


def test_an_offline_agent_cannot_be_sent_on_a_break(rita: Any) -> None:
    leo = AgentProfileFactory(user__username="leo").user
    with pytest.raises(ControlError, match="offline"):
        agent_break_start(agent_id=leo.pk, reason="lunch", by=rita)


# --- reassigning ----------------------------------------------------------------------------


def test_reassigning_moves_what_it_may_and_reports_the_rest(
    rita: Any, maya: Any, pushes: list[tuple[str, Any]]
) -> None:
    leo = AgentProfileFactory(user__username="leo", online=True).user
    held = CaseFactory(status=Case.Status.ASSIGNED, assignee=leo)
    queued = CaseFactory()
    needs_skill = CaseFactory(topic="bereavement")
    resolved = CaseFactory(status=Case.Status.RESOLVED)
    ids = [held.pk, queued.pk, needs_skill.pk, resolved.pk, 999_999]

    with TestCase.captureOnCommitCallbacks(execute=True):
        result = cases_reassign(case_ids=ids, agent_id=maya.pk, by=rita, note="balancing")

    assert result.moved == (held.pk, queued.pk)
    assert dict(result.refused) == {
        needs_skill.pk: "This case needs the bereavement skill, which Maya does not have.",
        resolved.pk: "This case is resolved.",
        999_999: "No such case.",
    }
    assert set(Case.objects.filter(assignee=maya).values_list("pk", flat=True)) == {
        held.pk,
        queued.pk,
    }
    # The transfer path: the case's timeline says who moved it and why.
    transfer = held.timeline.get(kind=CaseEvent.Kind.TRANSFER)
    assert (transfer.actor, transfer.data["note"]) == (rita, "balancing")
    rows = list(SupervisorAudit.objects.order_by("id").values_list("kind", "case_id", "data"))
    assert rows == [
        ("case_reassign", held.pk, {"from": leo.pk, "note": "balancing"}),
        ("case_reassign", queued.pk, {"from": None, "note": "balancing"}),
    ]
    assert {
        (SUPERVISORS_GROUP, "workload.changed"),
        (agent_group(maya.pk), "agent.status"),
        (agent_group(leo.pk), "agent.status"),
        (agent_group(maya.pk), "case.assigned"),
    } <= shape(pushes)


def test_reassigning_to_an_agent_away_from_the_desk_moves_nothing(rita: Any) -> None:
    leo = AgentProfileFactory(user__username="leo", user__first_name="Leo").user
    case = CaseFactory()
    result = cases_reassign(case_ids=[case.pk], agent_id=leo.pk, by=rita)
    assert result.moved == ()
    assert "Leo is not available right now" in result.refused[0][1]
    assert audits() == []


def test_a_hard_case_is_not_reassigned_to_an_agent_in_a_cooldown(rita: Any, maya: Any) -> None:
    agent_cooldown_set(agent_id=maya.pk, minutes=10, by=rita)
    hard = CaseFactory(difficulty=0.8)
    easy = CaseFactory(difficulty=0.2)
    result = cases_reassign(case_ids=[hard.pk, easy.pk], agent_id=maya.pk, by=rita)
    assert result.moved == (easy.pk,)
    assert "cool-down" in result.refused[0][1]


def test_reassigning_needs_cases_and_a_bounded_batch(rita: Any, maya: Any) -> None:
    with pytest.raises(ControlError, match="at least one case"):
        cases_reassign(case_ids=[], agent_id=maya.pk, by=rita)
    with pytest.raises(ControlError, match="at most 100"):
        cases_reassign(case_ids=list(range(1, 102)), agent_id=maya.pk, by=rita)


# --- the policy -----------------------------------------------------------------------------


def test_the_policy_changes_what_is_given_and_audits_the_changes(rita: Any) -> None:
    policy = workload_policy_update(
        changes={"hard_difficulty": 0.7, "recovery_routing": True, "recovery_after_hard": 2},
        by=rita,
    )
    assert (policy.hard_difficulty, policy.recovery_routing, policy.recovery_after_hard) == (
        0.7,
        True,
        2,
    )
    assert policy.updated_by == rita
    audit = SupervisorAudit.objects.get()
    assert audit.kind == "workload_policy"
    assert audit.data == {
        "changes": {
            "hard_difficulty": [0.6, 0.7],
            "recovery_routing": [False, True],
            "recovery_after_hard": [3, 2],
        }
    }


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"hard_difficulty": 1.5}, "hard_difficulty", "between 0.05 and 1"),
        ({"easy_difficulty": 0.7}, "easy_difficulty", "easy threshold must be below"),
        ({"index_amber": 90}, "index_amber", "amber threshold must be below its red"),
        ({"occupancy_red": 0.5}, "occupancy_red", "Occupancy amber must be below"),
        ({"recovery_after_hard": 2.5}, "recovery_after_hard", "must be a number"),
        ({"recovery_routing": "yes"}, "recovery_routing", "on or off"),
        ({"updated_by": 1}, "updated_by", "not a workload setting"),
    ],
)
def test_bad_policy_values_are_refused_field_by_field(
    rita: Any, changes: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(PolicyInvalid) as refused:
        workload_policy_update(changes=changes, by=rita)
    assert message in refused.value.errors[field]
    assert SupervisorAudit.objects.count() == 0
    assert workload_policy().hard_difficulty == 0.6
