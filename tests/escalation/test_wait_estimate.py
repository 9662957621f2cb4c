"""The customer's wait (escalation/cases/estimate.py): the position among the cases the same
agents can take, a free seat as "next available", the p50-p90 range from those agents' recent
completions and hidden without enough of them, the log settled with the real wait when the case
is taken, and the widget's push when the queue moves."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from conversations.events import WIDGET_INTEGRATION_NAME, widget_conversation_group
from escalation.cases.estimate import MIN_COMPLETIONS, wait_estimate, wait_estimate_log
from escalation.cases.lifecycle import case_resolve
from escalation.cases.routing import case_pick, cases_auto_assign
from escalation.models import AgentProfile, Case, WaitEstimateLog
from escalation.workload.pace import seats_wait_quantiles, wait_quantile_minutes
from tests.factories import AgentProfileFactory, CaseFactory, IntegrationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _agent(username: str, *teams: str, online: bool = True, capacity: int = 5, **kw: Any) -> Any:
    return AgentProfileFactory(
        user=UserFactory(username=username),
        teams=list(teams),
        online=online,
        capacity=capacity,
        **kw,
    ).user


def _queued(team: str, *, minutes_ago: float, **kw: Any) -> Case:
    return CaseFactory(team=team, now=timezone.now() - timedelta(minutes=minutes_ago), **kw)


def _held(user: Any, n: int, team: str = "billing") -> None:
    for _ in range(n):
        CaseFactory(team=team, status=Case.Status.ASSIGNED, assignee=user)


def _resolved(user: Any, n: int, *, minutes_ago: float, team: str = "billing") -> None:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    for _ in range(n):
        CaseFactory(
            team=team,
            status=Case.Status.RESOLVED,
            assignee=user,
            assigned_at=at - timedelta(minutes=10),
            resolved_at=at,
        )


def test_position_counts_only_the_cases_the_same_agents_can_take() -> None:
    maya = _agent("maya", "billing", capacity=1)
    _agent("leo", "general", capacity=1)
    _held(maya, 1)
    older_billing = _queued("billing", minutes_ago=9)
    _queued("general", minutes_ago=8)  # nobody on billing works general
    # A bereavement case ahead needs a skill no billing agent has: it waits for someone else.
    _queued("billing", minutes_ago=7, topic="bereavement")
    mine = _queued("billing", minutes_ago=5)
    _queued("billing", minutes_ago=1)  # behind

    estimate = wait_estimate(case_id=mine.pk)
    assert estimate is not None
    assert (estimate.position, estimate.free_seats, estimate.next_available) == (2, 0, False)

    # Sam works billing and general: the general case now competes for the same seats.
    _agent("sam", "billing", "general", online=False)
    assert wait_estimate(case_id=mine.pk).position == 3
    assert wait_estimate(case_id=older_billing.pk).position == 1


def test_a_free_seat_is_next_available_but_not_for_a_case_behind_the_one_taking_it() -> None:
    maya = _agent("maya", "billing", capacity=2)
    _held(maya, 1)
    first = _queued("billing", minutes_ago=4)
    second = _queued("billing", minutes_ago=2)

    now = wait_estimate(case_id=first.pk)
    assert (now.position, now.free_seats, now.next_available) == (1, 1, True)
    assert (now.low_s, now.high_s) == (0.0, 0.0)
    later = wait_estimate(case_id=second.pk)
    assert (later.position, later.next_available) == (2, False)
    # No completions yet: the range is hidden, not guessed.
    assert later.low_s is None and later.high_s is None and later.basis is None


def test_a_seat_of_an_agent_who_is_away_or_silent_is_not_free() -> None:
    _agent("maya", "billing", online=False)
    stale = _agent("leo", "billing")
    AgentProfile.objects.filter(user=stale).update(
        last_seen_at=timezone.now() - timedelta(minutes=5)
    )
    case = _queued("billing", minutes_ago=1)
    estimate = wait_estimate(case_id=case.pk)
    assert (estimate.free_seats, estimate.agents_online, estimate.next_available) == (0, 0, False)


def test_too_little_history_hides_the_range() -> None:
    maya = _agent("maya", "billing", capacity=1)
    _held(maya, 1)
    _resolved(maya, MIN_COMPLETIONS - 1, minutes_ago=20)
    # Completions of an agent who cannot take the case are not this queue's pace.
    leo = _agent("leo", "general")
    _resolved(leo, 20, minutes_ago=10, team="general")
    case = _queued("billing", minutes_ago=1)

    estimate = wait_estimate(case_id=case.pk)
    assert estimate.position == 1 and not estimate.has_range
    assert (estimate.low_s, estimate.high_s, estimate.window_minutes) == (None, None, None)

    # One more in the hour is enough, read over the hour.
    _resolved(maya, 1, minutes_ago=50)
    estimate = wait_estimate(case_id=case.pk)
    assert estimate.has_range and estimate.window_minutes == 60
    assert estimate.basis == pytest.approx(MIN_COMPLETIONS / 60)


def test_nobody_at_the_desk_hides_the_range_whatever_the_history() -> None:
    maya = _agent("maya", "billing", online=False)
    _resolved(maya, 30, minutes_ago=10)
    case = _queued("billing", minutes_ago=1)
    estimate = wait_estimate(case_id=case.pk)
    assert estimate.agents_online == 0 and not estimate.has_range


def _busy_half_hour(user: Any, *, seats: int, now: Any) -> None:
    """`seats` seats busy all the last half hour, ten 3-minute cases each, and a case taken on
    each just now."""
    for seat in range(seats):
        for n in range(10):
            taken = now - timedelta(minutes=30 - 3 * n, seconds=seat)
            CaseFactory(
                team="billing",
                status=Case.Status.RESOLVED,
                assignee=user,
                assigned_at=taken,
                resolved_at=taken + timedelta(minutes=3),
            )
        CaseFactory(team="billing", status=Case.Status.ASSIGNED, assignee=user, assigned_at=now)


def test_the_range_replays_the_seats_from_their_cases_ages_and_recent_handling_times() -> None:
    maya = _agent("maya", "billing", capacity=3)
    now = timezone.now()
    _busy_half_hour(maya, seats=3, now=now)
    # An older hour's completions do not count.
    _resolved(maya, 30, minutes_ago=70)
    _queued("billing", minutes_ago=6)
    _queued("billing", minutes_ago=5)
    case = _queued("billing", minutes_ago=1)

    estimate = wait_estimate(case_id=case.pk, now=now)
    assert (estimate.position, estimate.free_seats) == (3, 0)
    assert estimate.window_minutes == 30 and estimate.basis == pytest.approx(1.0)
    # Every case lasts 3 minutes and her three were just taken: all three seats free at 3
    # minutes, the third of them is this case's.
    assert (estimate.low_s, estimate.high_s) == (pytest.approx(180), pytest.approx(180))
    # Cases taken two minutes ago free their seats in one.
    Case.objects.filter(status=Case.Status.ASSIGNED).update(assigned_at=now - timedelta(minutes=2))
    assert wait_estimate(case_id=case.pk, now=now).high_s == pytest.approx(60)

    # Only one of her seats is at the desk now: the same history, a third of the pace.
    AgentProfile.objects.filter(user=maya).update(capacity=1)
    Case.objects.filter(status=Case.Status.ASSIGNED).update(assigned_at=now)
    Case.objects.filter(status=Case.Status.ASSIGNED).exclude(
        pk=Case.objects.filter(status=Case.Status.ASSIGNED).first().pk
    ).update(status=Case.Status.QUEUED, assignee=None, due_key=now + timedelta(hours=1))
    # Three to wait for from one seat is past two turns of it: the Poisson model, at one
    # seat per 3-minute case.
    assert wait_estimate(case_id=case.pk, now=now).low_s == pytest.approx(
        60 * wait_quantile_minutes(ahead=3, done=30, window_minutes=90, q=0.5)
    )


def test_a_long_queue_reads_the_p50_p90_off_the_seats_pace() -> None:
    maya = _agent("maya", "billing", capacity=3)
    now = timezone.now()
    _busy_half_hour(maya, seats=3, now=now)
    for n in range(9):
        _queued("billing", minutes_ago=20 - n)
    case = _queued("billing", minutes_ago=1)

    estimate = wait_estimate(case_id=case.pk, now=now)
    # Ten to wait for, beyond two turns of her three seats: completions as a Poisson stream
    # at three seats per 3-minute case, one a minute, known from 30 of them.
    assert estimate.position == 10
    assert estimate.low_s == pytest.approx(
        60 * wait_quantile_minutes(ahead=10, done=30, window_minutes=30, q=0.5)
    )
    assert estimate.high_s == pytest.approx(
        60 * wait_quantile_minutes(ahead=10, done=30, window_minutes=30, q=0.9)
    )
    assert 60 * 9.67 < estimate.low_s < 60 * 10.6  # Erlang(10, 1) median: 9.67 min
    assert estimate.low_s < estimate.high_s


def test_the_replay_is_seeded_and_the_same_inputs_give_the_same_range() -> None:
    handles = [2.0, 3.0, 5.0, 8.0, 13.0, 21.0]
    first = seats_wait_quantiles(
        ages=[1.0, 4.0, 9.0], handles=handles, ahead=2, quantiles=(0.5, 0.9)
    )
    again = seats_wait_quantiles(
        ages=[1.0, 4.0, 9.0], handles=handles, ahead=2, quantiles=(0.5, 0.9)
    )
    assert first == again and first[0] <= first[1]
    # A case older than any seen lately is not taken to be about to end, nor never to.
    assert seats_wait_quantiles(ages=[60.0], handles=handles, ahead=1, quantiles=(0.5,))[0] > 0


def test_the_pace_model_matches_an_exponential_wait_with_a_long_history() -> None:
    median = wait_quantile_minutes(ahead=1, done=5000, window_minutes=5000, q=0.5)
    assert median == pytest.approx(math.log(2), rel=1e-3)


def test_a_case_that_is_not_waiting_has_no_estimate() -> None:
    maya = _agent("maya", "billing")
    held = CaseFactory(team="billing", status=Case.Status.ASSIGNED, assignee=maya)
    preparing = CaseFactory(team="billing", status=Case.Status.PREPARING)
    assert wait_estimate(case_id=held.pk) is None
    assert wait_estimate(case_id=preparing.pk) is None
    assert wait_estimate(case_id=10**9) is None


def test_the_log_gets_the_actual_wait_when_a_person_takes_the_case() -> None:
    maya = _agent("maya", "billing", capacity=1)
    _held(maya, 1)
    _resolved(maya, 10, minutes_ago=10)
    case = _queued("billing", minutes_ago=6)
    now = timezone.now()
    shown = [wait_estimate(case_id=case.pk, now=now - timedelta(minutes=m)) for m in (5, 2)]
    rows = [wait_estimate_log(estimate=e) for e in shown]
    assert rows[0].low_s == shown[0].low_s and rows[0].taken_at is None

    Case.objects.filter(status=Case.Status.ASSIGNED).update(status=Case.Status.RESOLVED)
    case_pick(case_id=case.pk, user=maya)

    settled = {r.pk: r for r in WaitEstimateLog.objects.all()}
    taken = Case.objects.get(pk=case.pk).assigned_at
    for row, minutes in zip(rows, (5, 2), strict=True):
        log = settled[row.pk]
        assert log.taken_at == taken
        assert log.actual_wait.total_seconds() == pytest.approx(minutes * 60, abs=5)


def test_a_requeued_case_settles_only_what_was_shown_since() -> None:
    maya = _agent("maya", "billing", capacity=2)
    case = _queued("billing", minutes_ago=3)
    first = wait_estimate_log(estimate=wait_estimate(case_id=case.pk))
    assert cases_auto_assign() == 1
    first.refresh_from_db()
    taken = first.taken_at
    assert taken is not None

    Case.objects.filter(pk=case.pk).update(status=Case.Status.QUEUED, assignee=None)
    second = wait_estimate_log(estimate=wait_estimate(case_id=case.pk))
    case_pick(case_id=case.pk, user=maya)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.taken_at == taken and second.taken_at > taken


def test_the_estimate_costs_the_same_queries_for_a_long_queue(
    django_assert_num_queries: Any,
) -> None:
    maya = _agent("maya", "billing", capacity=2)
    _agent("leo", "billing", "general")
    _held(maya, 2)
    _resolved(maya, 8, minutes_ago=20)
    case = _queued("billing", minutes_ago=30)
    with django_assert_num_queries(4):
        short = wait_estimate(case_id=case.pk)
    for minutes in range(25):
        _queued("billing", minutes_ago=40 + minutes)
        _queued("general", minutes_ago=40 + minutes)
    _agent("sam", "billing")
    with django_assert_num_queries(4):
        long = wait_estimate(case_id=case.pk)
    assert (short.position, long.position) == (1, 51)


def test_the_widgets_waiting_in_the_same_agents_queue_hear_when_it_moves(
    pushes: list[tuple[str, Any]],
) -> None:
    widget = IntegrationFactory(name=WIDGET_INTEGRATION_NAME)
    maya = _agent("maya", "billing", "returns", capacity=1)
    _agent("leo", "general", online=False)
    taken = _queued("billing", minutes_ago=9, conversation__integration=widget)
    waiting_billing = _queued("billing", minutes_ago=5, conversation__integration=widget)
    # Returns shares Maya with billing; general does not; a platform's customer has no widget.
    waiting_returns = _queued("returns", minutes_ago=4, conversation__integration=widget)
    _queued("general", minutes_ago=3, conversation__integration=widget)
    _queued("billing", minutes_ago=2)

    with TestCase.captureOnCommitCallbacks(execute=True):
        case_pick(case_id=taken.pk, user=maya)
    widget_pushes = [(g, e) for g, e in pushes if g.startswith("widget.")]
    assert sorted(widget_pushes, key=lambda p: p[1].case_id) == [
        (widget_conversation_group(c.conversation_id), type(widget_pushes[0][1])(case_id=c.pk))
        for c in (taken, waiting_billing, waiting_returns)
    ]
    assert {e.type for _, e in widget_pushes} == {"widget.queue"}

    # Resolving it frees the seat, which the next case takes in the same transaction: the
    # widgets hear once each, not once per change.
    pushes.clear()
    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
        case_resolve(case_id=taken.pk, user=maya, outcome=Case.Outcome.RESOLVED)
        assert cases_auto_assign() == 1
    heard = [g for g, _ in pushes if g.startswith("widget.")]
    assert sorted(heard) == sorted(
        widget_conversation_group(c.conversation_id)
        for c in (taken, waiting_billing, waiting_returns)
    )
