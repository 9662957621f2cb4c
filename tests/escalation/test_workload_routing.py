"""Routing under the workload policy: cool-downs, paused teams, and recovery-aware routing
(after K hard cases in a row, an easier one next when one is waiting), also under concurrent
assigners on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from escalation.cases.routing import case_pick, cases_auto_assign
from escalation.models import AgentProfile, Case, WorkloadPolicy
from tests.factories import AgentProfileFactory, CaseFactory, TeamFactory

pytestmark = pytest.mark.django_db

HARD, EASY = 0.8, 0.2


def policy(**fields: Any) -> None:
    WorkloadPolicy.objects.update_or_create(pk=1, defaults=fields)


def history(user: Any, *difficulties: float) -> None:
    """Cases the agent had, oldest first, resolved, so they hold nothing now."""
    start = timezone.now() - timedelta(hours=1)
    for n, difficulty in enumerate(difficulties):
        CaseFactory(
            status=Case.Status.RESOLVED,
            assignee=user,
            assigned_at=start + timedelta(minutes=n),
            resolved_at=start + timedelta(minutes=n, seconds=30),
            difficulty=difficulty,
        )


def queued(difficulty: float, *, minutes_ago: int = 0, **fields: Any) -> Case:
    """A queued case that arrived `minutes_ago` (earlier ones are more urgent)."""
    now = timezone.now() - timedelta(minutes=minutes_ago)
    return CaseFactory(difficulty=difficulty, now=now, **fields)


def holder(case: Case) -> int | None:
    case.refresh_from_db()
    return case.assignee_id


# --- cool-down ------------------------------------------------------------------------------


def test_an_agent_in_a_cooldown_gets_no_hard_case_but_may_get_an_easy_one() -> None:
    maya = AgentProfileFactory(
        user__username="maya",
        online=True,
        cooldown_until=timezone.now() + timedelta(minutes=10),
    ).user
    hard = queued(HARD, minutes_ago=5)
    easy = queued(EASY)

    assert cases_auto_assign() == 1
    assert holder(hard) is None
    assert holder(easy) == maya.pk

    # Someone else online takes the hard one.
    leo = AgentProfileFactory(user__username="leo", online=True).user
    assert cases_auto_assign() == 1
    assert holder(hard) == leo.pk


def test_a_cooldown_that_has_ended_no_longer_holds_hard_cases_back() -> None:
    maya = AgentProfileFactory(
        online=True, cooldown_until=timezone.now() - timedelta(seconds=1)
    ).user
    hard = queued(HARD)
    assert cases_auto_assign() == 1
    assert holder(hard) == maya.pk


def test_the_hard_threshold_is_the_policys() -> None:
    policy(hard_difficulty=0.9)
    maya = AgentProfileFactory(
        online=True, cooldown_until=timezone.now() + timedelta(minutes=10)
    ).user
    case = queued(HARD)  # 0.8: not hard under this policy
    assert cases_auto_assign() == 1
    assert holder(case) == maya.pk


def test_an_agent_in_a_cooldown_may_still_take_a_hard_case_by_hand() -> None:
    maya = AgentProfileFactory(
        online=True, cooldown_until=timezone.now() + timedelta(minutes=10)
    ).user
    hard = queued(HARD)
    case_pick(case_id=hard.pk, user=maya)
    assert holder(hard) == maya.pk


# --- a paused team --------------------------------------------------------------------------


def test_a_paused_teams_cases_are_not_auto_assigned_but_can_be_taken_by_hand() -> None:
    TeamFactory(slug="billing", auto_assign_paused=True)
    maya = AgentProfileFactory(online=True, teams=["billing", "general"]).user
    billing = queued(EASY, minutes_ago=5, team="billing")
    general = queued(EASY, team="general")

    assert cases_auto_assign() == 1
    assert holder(billing) is None
    assert holder(general) == maya.pk

    case_pick(case_id=billing.pk, user=maya)
    assert holder(billing) == maya.pk


# --- recovery-aware routing ------------------------------------------------------------------


def test_after_k_hard_cases_the_next_case_is_an_easier_one_when_one_waits() -> None:
    policy(recovery_routing=True, recovery_after_hard=3)
    maya = AgentProfileFactory(online=True, capacity=1).user
    history(maya, HARD, HARD, HARD)
    hard = queued(HARD, minutes_ago=10)  # more urgent
    easy = queued(EASY)

    assert cases_auto_assign() == 1
    assert holder(easy) == maya.pk
    assert holder(hard) is None


def test_recovery_routing_off_keeps_the_queue_order() -> None:
    maya = AgentProfileFactory(online=True, capacity=1).user
    history(maya, HARD, HARD, HARD)
    hard = queued(HARD, minutes_ago=10)
    queued(EASY)
    assert cases_auto_assign() == 1
    assert holder(hard) == maya.pk


def test_fewer_than_k_hard_cases_in_a_row_keep_the_queue_order() -> None:
    policy(recovery_routing=True, recovery_after_hard=3)
    maya = AgentProfileFactory(online=True, capacity=1).user
    history(maya, HARD, HARD, EASY, HARD, HARD)
    hard = queued(HARD, minutes_ago=10)
    queued(EASY)
    assert cases_auto_assign() == 1
    assert holder(hard) == maya.pk


def test_with_no_easier_case_waiting_a_recovering_agent_still_gets_a_hard_one() -> None:
    policy(recovery_routing=True, recovery_after_hard=2)
    maya = AgentProfileFactory(online=True).user
    history(maya, HARD, HARD)
    hard = queued(HARD)
    assert cases_auto_assign() == 1
    assert holder(hard) == maya.pk


def test_the_hard_case_goes_to_someone_else_and_the_easy_one_to_the_recovering_agent() -> None:
    policy(recovery_routing=True, recovery_after_hard=2)
    maya = AgentProfileFactory(user__username="maya", online=True, capacity=1).user
    leo = AgentProfileFactory(user__username="leo", online=True, capacity=1).user
    history(maya, HARD, HARD)
    # Both hold nothing: by load and id alone the more urgent hard case would be Maya's.
    hard = queued(HARD, minutes_ago=10)
    easy = queued(EASY)
    assert cases_auto_assign() == 2
    assert (holder(hard), holder(easy)) == (leo.pk, maya.pk)


def test_once_the_easier_case_is_hers_the_held_back_hard_one_may_follow() -> None:
    policy(recovery_routing=True, recovery_after_hard=2)
    maya = AgentProfileFactory(online=True, capacity=2).user
    history(maya, HARD, HARD)
    hard = queued(HARD, minutes_ago=10)
    easy = queued(EASY)
    assert cases_auto_assign() == 2
    assert holder(easy) == maya.pk
    assert holder(hard) == maya.pk
    # In that order: the easier case was routed to her first.
    assigned = list(
        Case.objects.filter(assignee=maya, status=Case.Status.ASSIGNED)
        .order_by("assigned_at", "id")
        .values_list("pk", flat=True)
    )
    assert assigned == [easy.pk, hard.pk]


def test_hard_cases_from_an_earlier_shift_do_not_count() -> None:
    policy(recovery_routing=True, recovery_after_hard=2, shift_hours=8)
    maya = AgentProfileFactory(online=True, capacity=1).user
    long_ago = timezone.now() - timedelta(hours=20)
    for n in range(2):
        CaseFactory(
            status=Case.Status.RESOLVED,
            assignee=maya,
            assigned_at=long_ago + timedelta(minutes=n),
            difficulty=HARD,
        )
    hard = queued(HARD, minutes_ago=10)
    queued(EASY)
    assert cases_auto_assign() == 1
    assert holder(hard) == maya.pk


# --- concurrency (PostgreSQL) ---------------------------------------------------------------


def _run_concurrently(work: Callable[[], int], times: int) -> list[int]:
    barrier = threading.Barrier(times)
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            counts.append(work())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return counts


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SKIP LOCKED and row locks need PostgreSQL"
)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_assigners_give_recovering_agents_easier_cases_first() -> None:
    policy(recovery_routing=True, recovery_after_hard=3)
    recovering = [
        AgentProfileFactory(user__username=f"tired{n}", online=True, capacity=1).user
        for n in range(6)
    ]
    for user in recovering:
        history(user, HARD, HARD, HARD)
    fresh = [
        AgentProfileFactory(user__username=f"fresh{n}", online=True, capacity=1).user
        for n in range(6)
    ]
    # The hard cases are the more urgent: without recovery routing the tired agents (the
    # same load as the fresh ones, lower ids) would get them.
    hard = [queued(HARD, minutes_ago=30 - n) for n in range(6)]
    easy = [queued(EASY, minutes_ago=10 - n) for n in range(6)]

    counts = _run_concurrently(cases_auto_assign, 4)

    assert sum(counts) == 12
    by_case = dict(
        Case.objects.filter(status=Case.Status.ASSIGNED).values_list("pk", "assignee_id")
    )
    assert {by_case[c.pk] for c in easy} == {u.pk for u in recovering}
    assert {by_case[c.pk] for c in hard} == {u.pk for u in fresh}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_assigners_never_give_a_hard_case_to_an_agent_in_a_cooldown() -> None:
    until = timezone.now() + timedelta(minutes=20)
    cooling = [
        AgentProfileFactory(
            user__username=f"cool{n}", online=True, capacity=3, cooldown_until=until
        ).user
        for n in range(5)
    ]
    others = [
        AgentProfileFactory(user__username=f"other{n}", online=True, capacity=3).user
        for n in range(5)
    ]
    hard = [queued(HARD, minutes_ago=40 - n) for n in range(15)]
    easy = [queued(EASY, minutes_ago=20 - n) for n in range(15)]

    counts = _run_concurrently(cases_auto_assign, 4)

    assert sum(counts) == 30
    by_case = dict(
        Case.objects.filter(status=Case.Status.ASSIGNED).values_list("pk", "assignee_id")
    )
    assert {by_case[c.pk] for c in hard} <= {u.pk for u in others}
    assert {by_case[c.pk] for c in easy} == {u.pk for u in cooling}
    held = AgentProfile.objects.filter(user__in=cooling + others)
    for profile in held:
        assert (
            Case.objects.filter(assignee_id=profile.user_id, status=Case.Status.ASSIGNED).count()
            == 3
        )
