"""The demo's simulated staff: one step of the floor at a time, on a clock and an RNG the
test holds, doing real work through the desk's services."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from actions.models import DraftedAction
from desk import demo_staff
from desk.demo import demo_people_ensure
from desk.demo_pace import STAFF_HANDOFFS_PER_MINUTE, demo_pace, demo_summary
from desk.demo_staff import (
    BREAK_REASONS,
    DEMO_STAFF,
    SHIFT_END_REASON,
    StaffFloor,
    demo_staff_ensure,
    staff_floor_start,
    staff_step,
)
from escalation.models import AgentProfile, Case, CaseEvent, PresenceChange
from tests.desk.conftest import kinds
from tests.factories import CaseFactory, ConversationFactory, DraftedActionFactory


@pytest.fixture
def floor(db: None) -> StaffFloor:
    demo_people_ensure()
    demo_staff_ensure()
    return staff_floor_start(now=timezone.now(), rng=random.Random(1))


def _only(floor: StaffFloor, username: str) -> StaffFloor:
    floor.agents = [a for a in floor.agents if a.member.username == username]
    return floor


def _run(floor: StaffFloor, *, start: datetime, until: object, steps: int = 400) -> datetime:
    """Step the floor 5 s at a time until `until()` holds; returns the floor's clock."""
    rng, now = random.Random(7), start
    for _ in range(steps):
        staff_step(floor=floor, now=now, rng=rng)
        if until():
            return now
        now += timedelta(seconds=5)
    pytest.fail(f"not done after {steps} steps: {floor.acts}")


def test_the_staff_are_on_the_demo_teams_with_capacities_and_no_password(floor: StaffFloor) -> None:
    profiles = AgentProfile.objects.filter(user__username__in=[m.username for m in DEMO_STAFF])

    assert profiles.count() == len(DEMO_STAFF) == 7
    priya = profiles.get(user__username="priya")
    assert [t.slug for t in priya.teams.all()] == ["specialists"]
    assert "bereavement" in priya.skills and priya.capacity == 3
    assert not priya.user.has_usable_password()
    # They start offline, and only a step brings them to the desk.
    assert set(profiles.values_list("presence", flat=True)) == {AgentProfile.Presence.OFFLINE}


def test_an_agent_takes_greets_replies_to_and_resolves_a_case(floor: StaffFloor) -> None:
    _only(floor, "tomas")
    case = CaseFactory(
        team="general",
        priority=60,
        conversation=ConversationFactory(owner="human", customer_name="Ada Byron"),
    )
    start = floor.agents[0].shift_start

    def resolved() -> bool:
        case.refresh_from_db()
        return case.status == Case.Status.RESOLVED

    end = _run(floor, start=start, until=resolved)

    assert case.assignee.username == "tomas"
    assert case.outcome in Case.Outcome.values
    steps = kinds(case)
    assert steps[0] == CaseEvent.Kind.ASSIGNED and steps[-1] == CaseEvent.Kind.RESOLVED
    assert {CaseEvent.Kind.GREETED, CaseEvent.Kind.REPLY, CaseEvent.Kind.FIRST_RESPONSE} <= set(
        steps
    )
    replies = case.conversation.events.filter(role="agent").values_list("text", flat=True)
    assert any("Ada" in text for text in replies), list(replies)
    # A few minutes of the floor's clock: two to five for a case, with reading time.
    assert timedelta(minutes=1) <= end - start <= timedelta(minutes=8)
    what = [act for who, act, case_id in floor.acts if case_id == case.pk]
    assert what[0] in ("took", "opened") and what[-1].startswith("resolved")


def test_a_hard_case_gets_the_words_of_its_kind(floor: StaffFloor) -> None:
    _only(floor, "priya")
    case = CaseFactory(team="specialists", topic="bereavement", risk=0.5, priority=75)

    _run(floor, start=floor.agents[0].shift_start, until=lambda: floor.acts[-1][1] == "replied")

    [first] = case.conversation.events.filter(role="agent", text__contains="sorry for your loss")
    assert first.text


def test_a_drafted_action_is_decided_on_the_case_path(
    floor: StaffFloor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_staff, "APPROVE_SHARE", 0.0)
    _only(floor, "aiko")
    case = CaseFactory(team="general")
    drafted = DraftedActionFactory(case=case)

    def decided() -> bool:
        drafted.refresh_from_db()
        return drafted.status != DraftedAction.Status.DRAFTED

    _run(floor, start=floor.agents[0].shift_start, until=decided)

    assert drafted.status == DraftedAction.Status.REJECTED
    action = case.timeline.get(kind=CaseEvent.Kind.ACTION)
    assert action.actor.username == "aiko" and action.data["status"] == "rejected"


def test_breaks_and_the_shift_end_are_logged_as_presence_changes(floor: StaffFloor) -> None:
    _only(floor, "hannah")
    agent = floor.agents[0]
    rng, now = random.Random(3), agent.shift_start
    staff_step(floor=floor, now=now, rng=rng)  # comes online
    now = agent.next_break_at + timedelta(seconds=1)
    staff_step(floor=floor, now=now, rng=rng)  # leaves for a break
    profile = AgentProfile.objects.get(user=agent.user)
    assert profile.presence == AgentProfile.Presence.AWAY
    assert profile.away_reason in BREAK_REASONS and profile.presence_since is not None
    staff_step(floor=floor, now=now, rng=rng)  # holds nothing: the break starts
    staff_step(floor=floor, now=now + timedelta(minutes=5), rng=rng)  # and ends
    now = agent.shift_end + timedelta(minutes=6)
    staff_step(floor=floor, now=now, rng=rng)  # end of shift: Away first
    staff_step(floor=floor, now=now, rng=rng)  # then offline, holding nothing

    log = list(
        PresenceChange.objects.filter(user=agent.user).values_list("presence", "reason", "by")
    )
    assert [presence for presence, *_ in log] == ["online", "away", "online", "away", "offline"]
    assert log[1][1] in BREAK_REASONS and log[3][1] == SHIFT_END_REASON
    assert all(by is None for *_, by in log)
    assert [act for _, act, _ in floor.acts] == ["online", "away", "back", "away", "offline"]


def test_a_held_case_is_finished_before_the_break_and_no_new_one_comes(
    floor: StaffFloor,
) -> None:
    _only(floor, "jonah")
    agent = floor.agents[0]
    rng = random.Random(5)
    staff_step(floor=floor, now=agent.shift_start, rng=rng)
    case = CaseFactory(team="general")
    from escalation.cases.routing import cases_auto_assign

    cases_auto_assign()
    now = agent.next_break_at + timedelta(seconds=1)
    staff_step(floor=floor, now=now, rng=rng)  # Away, still holding the case
    CaseFactory(team="general")
    assert cases_auto_assign() == 0  # nobody online to give it to

    def resolved() -> bool:
        case.refresh_from_db()
        return case.status == Case.Status.RESOLVED

    _run(floor, start=now, until=resolved)
    assert case.assignee_id == agent.user.pk
    assert agent.status == "away" and agent.break_until is None


def test_the_pace_counts_the_staff_and_the_summary_their_presence(floor: StaffFloor) -> None:
    pace = demo_pace(staff=len(DEMO_STAFF))
    assert pace.handoffs_per_minute == pytest.approx(
        demo_pace().handoffs_per_minute + 7 * STAFF_HANDOFFS_PER_MINUTE
    )
    assert pace.concurrency == 8

    staff_step(floor=floor, now=timezone.now() + timedelta(minutes=3), rng=random.Random(1))

    line = demo_summary(staff=True).line()
    assert line.endswith("; simulated staff 7 online, 0 away, 0 offline"), line
    assert "simulated" not in demo_summary().line()


def test_upset_customers_answer_the_staff_in_kind() -> None:
    from escalation.signals.sentiment import sentiment
    from tools.simulate.data import scripts

    by_kind = scripts().customer_replies_by_kind

    assert set(by_kind) == {"angry", "bereavement", "prompt_injection"}
    # The engine reads them as negative, so the human part of a hard case stays hard.
    assert all(sentiment(line) < -0.3 for lines in by_kind.values() for line in lines)
    assert all(sentiment(line) > 0 for line in scripts().customer_replies_to_agent)


def test_an_action_held_for_a_supervisor_is_waited_for_then_followed_up(
    floor: StaffFloor,
) -> None:
    _only(floor, "aiko")
    case = CaseFactory(team="general")
    DraftedActionFactory(case=case, held_at=timezone.now())
    start = floor.agents[0].shift_start

    # Five minutes of the floor's clock: replies go out, but the case stays open for rita.
    rng, now = random.Random(2), start
    while now < start + demo_staff.HELD_WAIT - timedelta(seconds=30):
        staff_step(floor=floor, now=now, rng=rng)
        now += timedelta(seconds=5)
    case.refresh_from_db()
    assert case.status == Case.Status.ASSIGNED and case.first_response_at is not None

    def resolved() -> bool:
        case.refresh_from_db()
        return case.status == Case.Status.RESOLVED

    _run(floor, start=now, until=resolved)
    assert case.outcome == Case.Outcome.FOLLOW_UP


def test_an_approval_the_policy_refuses_is_rejected_next_not_retried(
    floor: StaffFloor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_staff, "APPROVE_SHARE", 1.0)
    _only(floor, "aiko")
    case = CaseFactory(team="general")
    # A refund of an order the customer does not have: the policy refuses it at execution.
    drafted = DraftedActionFactory(case=case)

    def decided() -> bool:
        drafted.refresh_from_db()
        return drafted.status != DraftedAction.Status.DRAFTED

    _run(floor, start=floor.agents[0].shift_start, until=decided)

    assert drafted.status == DraftedAction.Status.REJECTED
    what = [act for _, act, case_id in floor.acts if case_id == case.pk]
    assert what.count("approval refused") == 1 and what.count("rejected") == 1
