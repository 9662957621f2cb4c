"""The workload board (escalation/workload/board.py) on hand-built shifts: each figure and each
part of the index pinned, the board's query count independent of the number of agents, the
presence log it reads, and team intensification on a hand-built history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from conversations.models import Conversation
from escalation.cases.lifecycle import cases_sweep
from escalation.cases.routing import presence_away, presence_heartbeat
from escalation.models import (
    AgentProfile,
    Case,
    CaseEvent,
    ConversationState,
    PresenceChange,
)
from escalation.workload.board import (
    agent_workload_detail,
    agents_workload,
    team_intensification,
    workload_policy,
)
from escalation.workload.difficulty import case_turns_record, difficulty_compute, state_inputs
from escalation.workload.index import (
    BREAK_FULL_MINUTES,
    HARD_RUN_FULL,
    INDEX_WEIGHTS,
    LOAD_FULL,
    UPSET_FULL_MINUTES,
    index_parts,
    index_value,
)
from tests.factories import (
    AgentProfileFactory,
    CaseFactory,
    ConversationFactory,
    IntegrationFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)
START = NOW - timedelta(hours=8)
BEFORE_SHIFT = START - timedelta(minutes=1)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def agent(
    username: str = "maya", *, online_since: datetime | None = BEFORE_SHIFT, **kwargs: Any
) -> Any:
    """An agent at the desk, online since `online_since` (just before the shift by default)."""
    profile = AgentProfileFactory(
        user__username=username,
        presence=AgentProfile.Presence.ONLINE,
        last_seen_at=NOW,
        presence_since=online_since,
        **kwargs,
    )
    if online_since is not None:
        presence(profile.user, AgentProfile.Presence.ONLINE, online_since)
    return profile.user


def presence(user: Any, value: str, at: datetime, reason: str = "") -> None:
    PresenceChange.objects.create(user=user, presence=value, at=at, reason=reason)


def held(
    user: Any,
    *,
    d: float,
    at: datetime,
    resolved: datetime | None = None,
    first_reply: datetime | None = None,
    sentiment: float = 0.0,
    team: str = "general",
) -> Case:
    return CaseFactory(
        status=Case.Status.RESOLVED if resolved else Case.Status.ASSIGNED,
        assignee=user,
        assigned_at=at,
        resolved_at=resolved,
        first_response_at=first_reply,
        difficulty=d,
        sentiment=sentiment,
        team=team,
    )


def customer_says(case: Case, *, at: datetime, sentiment: float) -> None:
    """A customer message received at `at`, counted as the engine counts it (for whoever
    holds the case then)."""
    case_turns_record(case_id=case.pk, turns=[(at, sentiment)])


def row(user: Any, now: datetime = NOW) -> Any:
    return next(r for r in agents_workload(now=now) if r.user_id == user.pk)


# --- the row's figures -----------------------------------------------------------------------


def test_open_cases_and_load_count_what_is_held_now() -> None:
    maya = agent(capacity=4)
    held(maya, d=0.8, at=NOW - minutes(30))
    held(maya, d=0.5, at=NOW - minutes(20))
    held(maya, d=0.9, at=NOW - minutes(90), resolved=NOW - minutes(40))
    r = row(maya)
    assert (r.open_cases, r.capacity, r.load) == (2, 4, 1.3)
    assert (r.name, r.username, r.presence) == ("Maya", "maya", "online")


def test_negative_share_counts_customer_turns_while_the_agent_held_the_case() -> None:
    maya, leo = agent(), agent("leo")
    case = CaseFactory(status=Case.Status.QUEUED)
    customer_says(case, at=NOW - minutes(70), sentiment=-0.8)  # on the queue: nobody's
    Case.objects.filter(pk=case.pk).update(
        status=Case.Status.ASSIGNED, assignee=maya, assigned_at=NOW - minutes(60), difficulty=0.5
    )
    customer_says(case, at=NOW - minutes(50), sentiment=-0.6)
    for n in (40, 30, 20):
        customer_says(case, at=NOW - minutes(n), sentiment=0.2)
    customer_says(held(leo, d=0.5, at=NOW - minutes(60)), at=NOW - minutes(10), sentiment=-0.9)
    r = row(maya)
    assert r.negative_share == 0.25
    assert row(leo).negative_share == 1.0
    # Turns from before the shift are not this shift's.
    customer_says(case, at=START - minutes(90), sentiment=-0.9)
    assert row(maya).negative_share == 0.25


def test_no_turns_is_no_share() -> None:
    maya = agent()
    held(maya, d=0.5, at=NOW - minutes(10))
    assert row(maya).negative_share is None


def test_upset_minutes_run_from_the_first_negative_turn_or_an_upset_handoff() -> None:
    maya = agent()
    calm = held(maya, d=0.5, at=NOW - minutes(50))
    customer_says(calm, at=NOW - minutes(45), sentiment=0.1)
    customer_says(calm, at=NOW - minutes(30), sentiment=-0.5)
    held(maya, d=0.5, at=NOW - minutes(20), sentiment=-0.6)  # handed over upset
    held(maya, d=0.5, at=NOW - minutes(20), sentiment=-0.1)  # not upset
    assert row(maya).upset_minutes == 50.0


def test_hard_run_and_minutes_since_the_last_easy_case() -> None:
    maya = agent()
    held(maya, d=0.7, at=NOW - minutes(200), resolved=NOW - minutes(190))
    held(maya, d=0.2, at=NOW - minutes(100), resolved=NOW - minutes(95))
    held(maya, d=0.8, at=NOW - minutes(60), resolved=NOW - minutes(40))
    held(maya, d=0.6, at=NOW - minutes(30))  # exactly the hard threshold counts
    r = row(maya)
    assert r.hard_run == 2
    assert r.minutes_since_easy == 100.0


def test_thresholds_are_the_policys() -> None:
    maya = agent()
    held(maya, d=0.5, at=NOW - minutes(30))
    assert row(maya).hard_run == 0
    policy = workload_policy()
    policy.hard_difficulty = 0.5
    policy.save()
    assert row(maya).hard_run == 1


def test_a_gap_of_five_minutes_without_a_case_is_a_break() -> None:
    maya = agent()
    held(maya, d=0.5, at=START - minutes(5), resolved=NOW - minutes(90))
    held(maya, d=0.5, at=NOW - minutes(87), resolved=NOW - minutes(80))  # a 3-minute gap
    held(maya, d=0.5, at=NOW - minutes(70))  # a 10-minute gap: a break
    assert row(maya).minutes_since_break == 70.0


def test_away_is_a_break_even_holding_a_case() -> None:
    maya = agent()
    held(maya, d=0.5, at=START)
    presence(maya, AgentProfile.Presence.AWAY, NOW - minutes(60), reason="lunch")
    presence(maya, AgentProfile.Presence.ONLINE, NOW - minutes(50))
    r = row(maya)
    assert r.minutes_since_break == 50.0
    assert r.occupancy == pytest.approx((480 - 10) / (480 - 10), abs=1e-3)


def test_on_a_break_now_is_zero_and_no_break_all_shift_is_the_shift() -> None:
    maya, leo = agent(), agent("leo")
    held(maya, d=0.5, at=START - minutes(30), resolved=NOW - minutes(6))
    held(leo, d=0.5, at=START - minutes(30))
    assert row(maya).minutes_since_break == 0.0
    assert row(leo).minutes_since_break == 480.0


def test_occupancy_is_time_holding_a_case_over_time_online_with_levels() -> None:
    maya = agent(online_since=NOW - minutes(100))
    held(maya, d=0.5, at=NOW - minutes(90))  # 90 of 100 online minutes
    r = row(maya)
    assert r.occupancy == 0.9
    assert r.occupancy_level == "red"
    assert r.online_minutes == 100.0
    leo = agent("leo", online_since=NOW - minutes(100))
    held(leo, d=0.5, at=NOW - minutes(86))
    assert row(leo).occupancy_level == "amber"
    sam = agent("sam", online_since=NOW - minutes(100))
    held(sam, d=0.5, at=NOW - minutes(50))
    assert (row(sam).occupancy, row(sam).occupancy_level) == (0.5, "")


def test_occupancy_has_no_level_over_a_few_minutes_online() -> None:
    maya = agent(online_since=NOW - minutes(10))
    held(maya, d=0.5, at=NOW - minutes(10))
    r = row(maya)
    assert (r.occupancy, r.occupancy_level, r.index_parts["occupancy"]) == (1.0, "", 0.0)


def test_time_offline_is_not_available_time() -> None:
    maya = agent(online_since=BEFORE_SHIFT)
    presence(maya, AgentProfile.Presence.OFFLINE, NOW - minutes(240))
    presence(maya, AgentProfile.Presence.ONLINE, NOW - minutes(120))
    held(maya, d=0.5, at=NOW - minutes(60))
    r = row(maya)
    assert r.online_minutes == 360.0
    assert r.occupancy == pytest.approx(60 / 360, abs=1e-3)


def test_handle_and_first_reply_against_the_agents_30_day_median() -> None:
    maya = agent()
    for handle, reply in ((10, 1), (20, 3), (30, None)):
        held(
            maya,
            d=0.5,
            at=NOW - minutes(100 + handle),
            resolved=NOW - minutes(100),
            first_reply=NOW - minutes(100 + handle - reply) if reply else None,
        )
    for days, handle in ((3, 40), (10, 50), (20, 60), (40, 500)):
        held(
            maya,
            d=0.5,
            at=NOW - timedelta(days=days),
            resolved=NOW - timedelta(days=days) + minutes(handle),
            first_reply=NOW - timedelta(days=days) + minutes(handle // 10),
        )
    r = row(maya)
    assert (r.handle_minutes, r.first_reply_minutes) == (20.0, 2.0)
    assert r.handle_median_30d == 35.0  # 10 20 30 40 50 60; the 40-day-old one is out
    assert r.first_reply_median_30d == 4.0  # 1 3 4 5 6


def test_a_stale_heartbeat_is_offline_from_when_it_stopped() -> None:
    maya = agent()
    AgentProfile.objects.filter(user=maya).update(last_seen_at=NOW - minutes(30))
    r = row(maya)
    assert r.presence == "offline"
    assert r.presence_since == NOW - minutes(30) + timedelta(seconds=75)


def test_away_shows_its_reason_and_cool_down() -> None:
    maya = agent()
    AgentProfile.objects.filter(user=maya).update(
        presence="away", away_reason="break", cooldown_until=NOW + minutes(10)
    )
    r = row(maya)
    assert (r.presence, r.away_reason, r.cooling_down) == ("away", "break", True)


def test_filter_by_team_and_supervisors_are_not_rows() -> None:
    maya = agent(teams=["billing"])
    agent("leo", teams=["general"])
    AgentProfileFactory(role=AgentProfile.Role.SUPERVISOR, user__username="rita")
    assert [r.username for r in agents_workload(now=NOW)] == ["leo", "maya"]
    (only,) = agents_workload(now=NOW, team="billing")
    assert (only.user_id, only.teams) == (maya.pk, ("billing",))


# --- the index ----------------------------------------------------------------------------


NEUTRAL = dict(
    recent_load=0.0,
    negative_share=None,
    upset_minutes=0.0,
    hard_run=0,
    minutes_since_break=0.0,
    occupancy=None,
    occupancy_red=0.9,
)
ONE_INDEX_PART = {
    "load": ({"recent_load": LOAD_FULL / 2}, 0.5),
    "exposure": ({"negative_share": 0.5, "upset_minutes": UPSET_FULL_MINUTES / 2}, 0.5),
    "hard_run": ({"hard_run": HARD_RUN_FULL}, 1.0),
    "break": ({"minutes_since_break": BREAK_FULL_MINUTES / 4}, 0.25),
    "occupancy": ({"occupancy": 0.7}, 0.5),
}


def test_every_index_part_has_a_pinned_case() -> None:
    assert set(ONE_INDEX_PART) == set(INDEX_WEIGHTS)
    assert sum(INDEX_WEIGHTS.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("name", sorted(ONE_INDEX_PART))
def test_each_index_part_alone(name: str) -> None:
    change, strength = ONE_INDEX_PART[name]
    parts = index_parts(**(NEUTRAL | change))
    assert parts[name] == pytest.approx(strength)
    assert {k for k, v in parts.items() if v} == {name}
    assert index_value(parts) == round(100 * INDEX_WEIGHTS[name] * strength)


def test_exposure_weighs_the_share_and_the_upset_minutes() -> None:
    share = index_parts(**(NEUTRAL | {"negative_share": 1.0}))["exposure"]
    upset = index_parts(**(NEUTRAL | {"upset_minutes": 10 * UPSET_FULL_MINUTES}))["exposure"]
    assert (share, upset) == (0.6, 0.4)


def test_an_agent_after_a_run_of_hard_upset_cases_is_red() -> None:
    maya = agent(online_since=NOW - minutes(120))
    for n in range(5):
        case = held(maya, d=0.9, at=NOW - minutes(100 - 10 * n), sentiment=-0.5)
        customer_says(case, at=NOW - minutes(45 - n), sentiment=-0.7)
    r = row(maya)
    expected = {
        "load": 1.0,  # 4.5 held, the full hour
        "exposure": 1.0,
        "hard_run": 1.0,
        "break": round(100 / BREAK_FULL_MINUTES, 4),  # online 20 minutes before the first case
        "occupancy": round((100 / 120 - 0.5) / (0.9 - 0.5), 4),  # 100 of 120 minutes
    }
    assert r.index_parts == expected
    assert r.index == index_value(expected)
    assert r.index_level == "red"
    leo = agent("leo")
    assert (row(leo).index, row(leo).index_level) == (index_value(row(leo).index_parts), "")


def test_index_levels_follow_the_policy() -> None:
    maya = agent()
    held(maya, d=0.9, at=NOW - minutes(60))
    value = row(maya).index
    policy = workload_policy()
    policy.index_amber, policy.index_red = value, value + 1
    policy.save()
    assert row(maya).index_level == "amber"
    policy.index_red = value
    policy.save()
    assert row(maya).index_level == "red"


def test_the_sparkline_is_the_index_at_the_end_of_each_hour_of_the_shift() -> None:
    maya = agent()
    held(maya, d=0.9, at=NOW - minutes(150), resolved=NOW - minutes(100))
    r = row(maya)
    # 08:30-16:30: ends of hours 09:00 ... 16:00, then now.
    assert len(r.sparkline) == 9
    assert r.sparkline[-1] == r.index
    assert r.sparkline[:5] == (0, 0, 0, 0, 0)  # hours before the case: nothing but time
    assert max(r.sparkline) == r.sparkline[6]  # 15:00, holding the case for its whole hour


# --- queries --------------------------------------------------------------------------------


def _roster(n: int, *, prefix: str) -> None:
    """n agents, each with two open cases, a resolved one, customer turns and a break."""
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"{prefix}{i}") for i in range(n))
    AgentProfile.objects.bulk_create(
        AgentProfile(user=u, presence="online", last_seen_at=NOW, presence_since=START)
        for u in users
    )
    integration = IntegrationFactory()
    conversations = Conversation.objects.bulk_create(
        Conversation(integration=integration, external_id=f"{prefix}-{i}", owner="human")
        for i in range(3 * n)
    )
    cases = Case.objects.bulk_create(
        Case(
            conversation=conversations[3 * i + k],
            status="resolved" if k == 2 else "assigned",
            trigger="handoff",
            reason="x",
            assignee=u,
            assigned_at=NOW - minutes(100 + 10 * k),
            resolved_at=NOW - minutes(10) if k == 2 else None,
            difficulty=0.3 * k,
        )
        for i, u in enumerate(users)
        for k in range(3)
    )
    hour = (NOW - minutes(50)).replace(minute=0, second=0, microsecond=0).isoformat()
    for case in cases:
        # What the engine keeps on a case as its customer writes: one negative turn.
        case.difficulty_parts = {
            "human": {str(case.assignee_id): {"hours": {hour: [1, 1]}, "first_negative": hour}}
        }
    Case.objects.bulk_update(cases, ["difficulty_parts"])
    PresenceChange.objects.bulk_create(
        PresenceChange(user=u, presence=p, at=NOW - minutes(m))
        for u in users
        for p, m in (("online", 600), ("away", 200), ("online", 190))
    )


def test_the_board_costs_the_same_queries_for_5_agents_or_200(
    django_assert_num_queries: Any,
) -> None:
    workload_policy()
    _roster(5, prefix="a")
    with django_assert_num_queries(7) as small:
        rows = agents_workload(now=NOW)
    assert len(rows) == 5 and all(r.open_cases == 2 and r.negative_share == 1 for r in rows)
    _roster(195, prefix="b")
    with django_assert_num_queries(len(small.captured_queries)):
        rows = agents_workload(now=NOW)
    assert len(rows) == 200


# --- the detail -----------------------------------------------------------------------------


def test_the_detail_has_the_cases_the_timeline_and_the_parts() -> None:
    maya = agent()
    open_case = held(maya, d=0.8, at=NOW - minutes(30))
    Case.objects.filter(pk=open_case.pk).update(
        difficulty_parts={"contributions": {"risk": 0.3}}, summary_line="Wants a refund"
    )
    done = held(maya, d=0.2, at=NOW - minutes(90), resolved=NOW - minutes(60))
    event = CaseEvent.objects.create(
        case=open_case, kind="assigned", actor=None, data={"to": maya.pk, "to_name": "Maya"}
    )
    CaseEvent.objects.filter(pk=event.pk).update(at=NOW - minutes(30))
    CaseEvent.objects.create(case=done, kind="assigned", data={"to": maya.pk + 99})
    presence(maya, AgentProfile.Presence.AWAY, NOW - minutes(20), reason="coffee")

    detail = agent_workload_detail(user_id=maya.pk, now=NOW)

    assert detail is not None
    assert [c.case_id for c in detail.open_cases] == [open_case.pk]
    assert detail.open_cases[0].difficulty_parts == {"risk": 0.3}
    assert detail.open_cases[0].summary == "Wants a refund" and detail.open_cases[0].hard
    assert [(c.case_id, c.handle_minutes, c.easy) for c in detail.recent_cases] == [
        (done.pk, 30.0, True)
    ]
    assert [(e.kind, e.text) for e in detail.timeline] == [
        ("assigned", "Assigned to Maya"),
        ("presence", "Away: coffee"),
    ]
    assert [p.name for p in detail.parts] == list(INDEX_WEIGHTS)
    assert round(sum(p.points for p in detail.parts)) == detail.row.index
    assert len(detail.sparkline_hours) == len(detail.row.sparkline)
    assert agent_workload_detail(user_id=maya.pk + 1000, now=NOW) is None


# --- the presence log -----------------------------------------------------------------------


def test_presence_services_log_real_changes_only() -> None:
    maya = AgentProfileFactory(user__username="maya").user
    presence_heartbeat(user=maya)  # offline -> online
    presence_heartbeat(user=maya)  # no change
    presence_heartbeat(user=maya, presence="away")
    presence_away(user=maya)
    presence_away(user=maya)  # already offline
    log = list(PresenceChange.objects.filter(user=maya).values_list("presence", flat=True))
    assert log == ["online", "away", "offline"]
    profile = AgentProfile.objects.get(user=maya)
    assert profile.presence_since == PresenceChange.objects.filter(user=maya).last().at


def test_the_sweep_logs_a_silent_agent_offline_from_their_last_heartbeat(db: None) -> None:
    seen = timezone.now() - minutes(10)
    maya = AgentProfileFactory(presence="online", last_seen_at=seen).user
    cases_sweep()
    change = PresenceChange.objects.get(user=maya)
    assert (change.presence, change.at) == ("offline", seen + timedelta(seconds=75))
    assert AgentProfile.objects.get(user=maya).presence_since == change.at


# --- team intensification -------------------------------------------------------------------


def _ai_only(at: datetime, **state: Any) -> float:
    conversation = ConversationFactory()
    Conversation.objects.filter(pk=conversation.pk).update(created_at=at)
    row = ConversationState.objects.create(conversation=conversation, **state)
    return difficulty_compute(
        state_inputs(
            risk=row.risk,
            counts=row.counts,
            topic=row.topic,
            sentiment=row.sentiment,
            customer_turns=row.customer_turns,
        )
    ).value


def _human(at: datetime, d: float, team: str = "general") -> None:
    case = CaseFactory(difficulty=d, team=team)
    Case.objects.filter(pk=case.pk).update(queued_at=at)


def test_intensification_compares_what_reached_people_with_every_contact() -> None:
    hour = NOW.replace(minute=0)
    _human(hour + minutes(5), 0.8, team="billing")
    _human(hour + minutes(10), 0.6)
    easy = _ai_only(hour + minutes(1), risk=0.05, customer_turns=2)
    calm = _ai_only(hour + minutes(2), risk=0.1, sentiment=0.3, customer_turns=4)
    # Yesterday, a day of AI-only contacts and one hard case.
    _human(NOW - timedelta(days=1, hours=2), 0.9)
    old = _ai_only(NOW - timedelta(days=1, hours=2), risk=0.3, counts={"profanity": 1})
    ConversationFactory()  # never analysed: no state, not a contact

    result = team_intensification(now=NOW, days=30)

    everyone = (0.8 + 0.6 + easy + calm) / 4
    (now_hour,) = [p for p in result.hourly if p.start == hour]
    assert (now_hour.contacts, now_hour.human_contacts) == (4, 2)
    assert now_hour.ratio == pytest.approx(0.7 / everyone, abs=1e-3)
    assert result.ratio == now_hour.ratio  # yesterday's are older than 24 hours
    assert result.by_team == {
        "billing": round(0.8 / everyone, 3),
        "general": round(0.6 / everyone, 3),
    }
    assert len(result.hourly) == 24 and len(result.daily) == 30
    assert result.hourly[-1].start == hour
    yesterday = result.daily[-2]
    assert yesterday.ratio == pytest.approx(0.9 / ((0.9 + old) / 2), abs=1e-3)
    assert result.daily[0].contacts == 0 and result.daily[0].ratio is None
    assert result.level == "red"  # the default red line is 1.6


def test_intensification_with_nobody_reaching_people_has_no_ratio() -> None:
    _ai_only(NOW - minutes(5), risk=0.2)
    result = team_intensification(now=NOW)
    assert (result.ratio, result.level, result.human_mean) == (None, "", None)
    assert result.all_mean is not None
