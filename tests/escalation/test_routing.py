"""Routing: who gets a case (capacity, skills, teams, presence, difficulty-weighted load), in
what order (priority with aging), the first-response SLA and its sweeper, and what the customer's
channel hears when a human takes over and hands back."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from conversations.events import integration_group
from conversations.models import Conversation, Event, Integration
from conversations.services import events_ingest, integration_create
from escalation.cases.lifecycle import case_resolve, cases_sweep
from escalation.cases.routing import (
    PRESENCE_TIMEOUT,
    CannotTake,
    CaseTaken,
    case_pick,
    case_priority,
    case_weight,
    cases_auto_assign,
    presence_heartbeat,
    sla_minutes,
    sla_state,
)
from escalation.cases.work import case_opened
from escalation.models import AgentProfile, Case, CaseEvent
from tests.conftest import Listener, event
from tests.factories import AgentProfileFactory, CaseFactory


def held_by(user: Any) -> set[int]:
    return set(
        Case.objects.filter(assignee=user, status=Case.Status.ASSIGNED).values_list("pk", flat=True)
    )


def timeline(case: Case) -> list[str]:
    return list(case.timeline.order_by("at", "id").values_list("kind", flat=True))


@pytest.fixture
def bot(integration: tuple[Integration, str]) -> Integration:
    return integration[0]


# --- capacity, skills, teams, presence ------------------------------------------------------


def test_an_agent_at_capacity_gets_nothing_more(bot: Integration) -> None:
    maya = AgentProfileFactory(user__username="maya", online=True, capacity=2).user
    cases = [CaseFactory(conversation__integration=bot) for _ in range(3)]

    assert cases_auto_assign() == 2
    assert held_by(maya) == {cases[0].pk, cases[1].pk}
    cases[2].refresh_from_db()
    assert (cases[2].status, cases[2].assignee_id) == (Case.Status.QUEUED, None)
    # Nothing changes until she has room again.
    assert cases_auto_assign() == 0
    case_resolve(case_id=cases[0].pk, user=maya, outcome=Case.Outcome.RESOLVED)
    assert cases_auto_assign() == 1
    assert held_by(maya) == {cases[1].pk, cases[2].pk}


def test_a_bereavement_case_only_goes_to_an_agent_with_that_skill(bot: Integration) -> None:
    AgentProfileFactory(user__username="idle", online=True)  # lightest load, not trained for it
    case = CaseFactory(conversation__integration=bot, risk=0.6, topic="bereavement")
    assert cases_auto_assign() == 0
    case.refresh_from_db()
    assert case.status == Case.Status.QUEUED

    skilled = AgentProfileFactory(user__username="grace", online=True, skills=["bereavement"]).user
    # Give the skilled agent a heavier load than the idle one: skill still wins.
    CaseFactory(conversation__integration=bot)
    Case.objects.exclude(pk=case.pk).update(
        status=Case.Status.ASSIGNED, assignee=skilled, weight=2.0
    )
    assert cases_auto_assign() == 1
    case.refresh_from_db()
    assert case.assignee == skilled


def test_cases_go_to_their_team_and_agents_without_teams_work_general(bot: Integration) -> None:
    billing_agent = AgentProfileFactory(user__username="bill", online=True, teams=["billing"]).user
    generalist = AgentProfileFactory(user__username="gene", online=True).user
    billing_case = CaseFactory(conversation__integration=bot, team="billing")
    general_case = CaseFactory(conversation__integration=bot, team="general")
    returns_case = CaseFactory(conversation__integration=bot, team="returns")

    assert cases_auto_assign() == 2
    assert held_by(billing_agent) == {billing_case.pk}
    assert held_by(generalist) == {general_case.pk}
    returns_case.refresh_from_db()
    assert returns_case.status == Case.Status.QUEUED  # nobody online works returns


@pytest.mark.parametrize(
    ("presence", "seen_ago"),
    [
        (AgentProfile.Presence.OFFLINE, timedelta(0)),
        (AgentProfile.Presence.AWAY, timedelta(0)),
        (AgentProfile.Presence.ONLINE, PRESENCE_TIMEOUT + timedelta(seconds=5)),
    ],
    ids=["offline", "away", "stale-heartbeat"],
)
def test_agents_not_online_with_a_fresh_heartbeat_are_never_assigned(
    bot: Integration, presence: str, seen_ago: timedelta
) -> None:
    absent = AgentProfileFactory(
        user__username="absent", presence=presence, last_seen_at=timezone.now() - seen_ago
    ).user
    case = CaseFactory(conversation__integration=bot)
    assert cases_auto_assign() == 0
    assert held_by(absent) == set()

    present = AgentProfileFactory(
        user__username="present", online=True, last_seen_at=timezone.now() - timedelta(seconds=10)
    ).user
    assert cases_auto_assign() == 1
    assert held_by(present) == {case.pk}


def test_an_agent_with_no_heartbeat_yet_is_not_assigned(bot: Integration) -> None:
    AgentProfileFactory(user__username="fresh", online=True)
    AgentProfile.objects.update(last_seen_at=None)
    CaseFactory(conversation__integration=bot)
    assert cases_auto_assign() == 0


def test_cases_nobody_online_can_take_do_not_hold_up_the_rest_of_the_queue(
    bot: Integration,
) -> None:
    """Legal cases at night, with no legal agent on: the general case behind them still goes."""
    AgentProfileFactory(user__username="gene", online=True, capacity=10)
    skilled = AgentProfileFactory(
        user__username="grace", online=True, capacity=1, skills=["bereavement"]
    ).user
    now = timezone.now()
    for _ in range(60):
        CaseFactory(
            conversation__integration=bot, team="legal", priority=90, now=now - timedelta(minutes=5)
        )
    for _ in range(10):
        CaseFactory(
            conversation__integration=bot,
            topic="fraud",
            priority=90,
            now=now - timedelta(minutes=5),
        )
    CaseFactory(conversation__integration=bot, topic="bereavement", now=now - timedelta(minutes=4))
    general = CaseFactory(conversation__integration=bot, priority=20, now=now)

    assert cases_auto_assign() == 2
    general.refresh_from_db()
    assert general.status == Case.Status.ASSIGNED
    assert len(held_by(skilled)) == 1


# --- difficulty-weighted load ---------------------------------------------------------------


def test_case_weight_grows_with_risk_and_sensitive_topics() -> None:
    assert case_weight(risk=0.0, topic="shipping") == 1.0
    assert case_weight(risk=0.0, topic="bereavement") == 1.5
    assert case_weight(risk=1.0, topic="fraud") == 2.5


def test_an_agent_holding_a_hard_case_gets_fewer_new_cases_than_one_holding_an_easy_one(
    bot: Integration,
) -> None:
    # Created first, so on equal footing (load, count) the tie would go to her.
    heavy = AgentProfileFactory(user__username="heavy", online=True, skills=["bereavement"]).user
    light = AgentProfileFactory(user__username="light", online=True, skills=["bereavement"]).user
    hard = CaseFactory(conversation__integration=bot, risk=1.0, topic="bereavement")
    easy = CaseFactory(conversation__integration=bot, risk=0.0, topic="shipping")
    Case.objects.filter(pk=hard.pk).update(status=Case.Status.ASSIGNED, assignee=heavy)
    Case.objects.filter(pk=easy.pk).update(status=Case.Status.ASSIGNED, assignee=light)
    # Both hold one case: by count they are level; by difficulty heavy carries 2.5, light 1.0.
    first, second, third = (CaseFactory(conversation__integration=bot) for _ in range(3))

    assert cases_auto_assign() == 3

    # light: 1.0 -> 2.0 -> 3.0; heavy takes the third at 2.5 < 3.0.
    assert held_by(light) == {easy.pk, first.pk, second.pk}
    assert held_by(heavy) == {hard.pk, third.pk}


# --- priority, aging and SLA ----------------------------------------------------------------


def test_priority_adds_risk_and_customer_value_and_is_capped() -> None:
    assert case_priority(base=50, risk=0.0, customer_value=0) == 50
    assert case_priority(base=50, risk=1.0, customer_value=0) == 65
    assert case_priority(base=50, risk=0.0, customer_value=2000) == 60
    assert case_priority(base=50, risk=0.0, customer_value=1_000_000) == 60
    assert case_priority(base=95, risk=1.0, customer_value=5000) == 100


def test_a_case_that_waited_long_enough_overtakes_a_fresh_higher_priority_one(
    bot: Integration,
) -> None:
    now = timezone.now()
    # 30 points apart; one point of priority is worth a minute of waiting.
    waited = CaseFactory(
        conversation__integration=bot, priority=40, now=now - timedelta(minutes=31)
    )
    fresh = CaseFactory(conversation__integration=bot, priority=70, now=now)
    recent = CaseFactory(
        conversation__integration=bot, priority=40, now=now - timedelta(minutes=29)
    )
    order = list(Case.objects.order_by("due_key", "id").values_list("pk", flat=True))
    assert order == [waited.pk, fresh.pk, recent.pk]

    # The single free seat goes to the case that waited.
    AgentProfileFactory(user__username="solo", online=True, capacity=1)
    assert cases_auto_assign() == 1
    waited.refresh_from_db()
    assert waited.status == Case.Status.ASSIGNED


def test_the_first_response_sla_depends_on_priority(bot: Integration) -> None:
    assert [sla_minutes(p) for p in (100, 75, 74, 40, 39, 0)] == [5, 5, 15, 15, 60, 60]
    now = timezone.now()
    case = CaseFactory(conversation__integration=bot, priority=50, now=now)
    assert case.sla_due_at == now + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("minutes_later", "state"),
    [
        (0, "ok"),
        (11.9, "ok"),
        (12.1, "warning"),
        (14.9, "warning"),
        (15, "breached"),
        (60, "breached"),
    ],
)
def test_sla_state_is_ok_then_warning_then_breached(
    bot: Integration, minutes_later: float, state: str
) -> None:
    now = timezone.now()
    # 15 minutes; warning in the last 20 %
    case = CaseFactory(conversation__integration=bot, priority=50, now=now)
    assert sla_state(case, now + timedelta(minutes=minutes_later)) == state


def test_a_first_response_stops_the_sla_clock(bot: Integration) -> None:
    now = timezone.now()
    case = CaseFactory(conversation__integration=bot, priority=50, now=now)
    case.first_response_at = now + timedelta(minutes=3)
    assert sla_state(case, now + timedelta(hours=2)) == "ok"


# --- the sweeper ----------------------------------------------------------------------------


def test_the_sweeper_requeues_the_cases_of_an_agent_gone_offline(bot: Integration) -> None:
    gone = AgentProfileFactory(user__username="gone", online=True).user
    case = CaseFactory(conversation__integration=bot)
    assert cases_auto_assign() == 1
    AgentProfile.objects.filter(user=gone).update(
        last_seen_at=timezone.now() - PRESENCE_TIMEOUT - timedelta(seconds=1)
    )
    stays = AgentProfileFactory(user__username="stays", online=True).user

    result = cases_sweep()

    assert result == {
        "offline": 1,
        "requeued": 1,
        "warned": 0,
        "breached": 0,
        "unstuck": 0,
        "reanalysed": 0,
        "assigned": 1,
    }
    assert AgentProfile.objects.get(user=gone).presence == AgentProfile.Presence.OFFLINE
    case.refresh_from_db()
    assert case.assignee == stays
    assert timeline(case) == ["assigned", "requeued", "assigned"]
    requeued = case.timeline.get(kind=CaseEvent.Kind.REQUEUED)
    assert requeued.data == {"reason": "agent offline", "from": gone.pk, "from_name": "Gone"}
    assert requeued.line == "Re-queued: Gone went offline"
    # Nobody opened the case: the customer was greeted by nobody.
    assert not Event.objects.filter(conversation=case.conversation, role="agent").exists()


def test_the_sweeper_requeues_a_case_that_missed_its_first_response_sla(bot: Integration) -> None:
    slow = AgentProfileFactory(user__username="slow", online=True).user
    case = CaseFactory(conversation__integration=bot, priority=50)
    answered = CaseFactory(conversation__integration=bot, priority=50)
    assert cases_auto_assign() == 2
    past = timezone.now() - timedelta(minutes=1)
    Case.objects.filter(pk__in=[case.pk, answered.pk]).update(
        sla_due_at=past, assigned_at=past - timedelta(minutes=10)
    )
    Case.objects.filter(pk=answered.pk).update(first_response_at=past - timedelta(minutes=5))
    quick = AgentProfileFactory(user__username="quick", online=True).user

    result = cases_sweep()

    assert (result["requeued"], result["assigned"]) == (1, 1)
    case.refresh_from_db()
    assert case.assignee == quick
    requeued = case.timeline.get(kind=CaseEvent.Kind.REQUEUED)
    assert requeued.data == {
        "reason": "first response SLA missed",
        "from": slow.pk,
        "from_name": "Slow",
    }
    assert timeline(answered) == ["assigned"]


def test_a_missed_sla_requeues_once_not_on_every_sweep(bot: Integration) -> None:
    """The deadline stays in the past once missed: the agent who takes the case over did not
    miss it, and must not lose it (nor the customer get another greeting) every 30 seconds."""
    slow = AgentProfileFactory(user__username="slow", online=True).user
    case = CaseFactory(conversation__integration=bot, priority=50)
    assert cases_auto_assign() == 1
    past = timezone.now() - timedelta(minutes=1)
    Case.objects.filter(pk=case.pk).update(
        sla_due_at=past, assigned_at=past - timedelta(minutes=10)
    )

    assert cases_sweep()["requeued"] == 1
    fresh = AgentProfileFactory(user__username="fresh", online=True).user
    second = cases_sweep()

    assert second["requeued"] == 0
    assert timeline(case) == ["assigned", "sla_breached", "requeued", "assigned"]
    case.refresh_from_db()
    assert (case.assignee, case.missed_by) == (fresh, slow)
    assert Event.objects.filter(conversation=case.conversation, role="agent").count() == 0


def test_a_missed_case_does_not_go_back_to_the_agent_who_missed_it(bot: Integration) -> None:
    slow = AgentProfileFactory(user__username="slow", online=True).user
    case = CaseFactory(conversation__integration=bot, priority=50)
    assert cases_auto_assign() == 1
    past = timezone.now() - timedelta(minutes=1)
    Case.objects.filter(pk=case.pk).update(
        sla_due_at=past, assigned_at=past - timedelta(minutes=10)
    )

    sweep = cases_sweep()

    assert (sweep["requeued"], sweep["assigned"]) == (1, 0)
    case.refresh_from_db()
    assert (case.status, case.assignee) == (Case.Status.QUEUED, None)
    # They may still take it back by hand, without greeting the customer a second time.
    case_pick(case_id=case.pk, user=slow)
    assert Event.objects.filter(conversation=case.conversation, role="agent").count() == 1


def test_picking_by_hand_needs_the_skill_and_room(bot: Integration) -> None:
    maya = AgentProfileFactory(user__username="maya", online=True, capacity=1).user
    bereavement = CaseFactory(conversation__integration=bot, topic="bereavement")
    with pytest.raises(CannotTake, match="bereavement skill"):
        case_pick(case_id=bereavement.pk, user=maya)

    case_pick(case_id=CaseFactory(conversation__integration=bot).pk, user=maya)
    with pytest.raises(CannotTake, match="capacity"):
        case_pick(case_id=CaseFactory(conversation__integration=bot).pk, user=maya)

    # A supervisor may go over capacity, but a sensitive case still needs its skill.
    boss = AgentProfileFactory(
        user__username="boss",
        online=True,
        role=AgentProfile.Role.SUPERVISOR,
        capacity=1,
        skills=["bereavement"],
    ).user
    case_pick(case_id=CaseFactory(conversation__integration=bot).pk, user=boss)
    case_pick(case_id=bereavement.pk, user=boss)
    assert len(held_by(boss)) == 2
    unskilled = AgentProfileFactory(
        user__username="rita", online=True, role=AgentProfile.Role.SUPERVISOR
    ).user
    with pytest.raises(CannotTake, match="which you do not have"):
        case_pick(
            case_id=CaseFactory(conversation__integration=bot, topic="legal").pk, user=unskilled
        )


def test_picking_a_case_while_offline_brings_the_agent_online(bot: Integration) -> None:
    maya = AgentProfileFactory(
        user__username="maya",
        presence=AgentProfile.Presence.OFFLINE,
        last_seen_at=timezone.now() - timedelta(hours=1),
    ).user
    case = CaseFactory(conversation__integration=bot)

    case_pick(case_id=case.pk, user=maya)

    assert AgentProfile.objects.get(user=maya).presence == AgentProfile.Presence.ONLINE
    assert cases_sweep()["requeued"] == 0
    assert held_by(maya) == {case.pk}


def test_the_sweeper_warns_once_before_a_breach(bot: Integration) -> None:
    case = CaseFactory(conversation__integration=bot, priority=90)
    Case.objects.filter(pk=case.pk).update(sla_due_at=timezone.now() + timedelta(seconds=30))
    later = CaseFactory(conversation__integration=bot, priority=50)

    assert cases_sweep()["warned"] == 1
    assert cases_sweep()["warned"] == 0
    assert timeline(case) == ["sla_warning"]
    assert timeline(later) == []


# --- picking by hand ------------------------------------------------------------------------


def test_case_pick_refuses_a_case_someone_else_holds(bot: Integration) -> None:
    maya = AgentProfileFactory(user__username="maya", online=True).user
    leo = AgentProfileFactory(user__username="leo", online=True).user
    case = CaseFactory(conversation__integration=bot)
    case_pick(case_id=case.pk, user=maya)

    with pytest.raises(CaseTaken):
        case_pick(case_id=case.pk, user=leo)

    case.refresh_from_db()
    assert case.assignee == maya
    assert case.timeline.filter(kind=CaseEvent.Kind.ASSIGNED).count() == 1
    assigned = case.timeline.get(kind=CaseEvent.Kind.ASSIGNED)
    assert (assigned.actor, assigned.data) == (
        maya,
        {"to": maya.pk, "auto": False, "to_name": "Maya"},
    )
    assert assigned.line == "Maya took the case"


def test_case_pick_refuses_a_resolved_case(bot: Integration) -> None:
    maya = AgentProfileFactory(user__username="maya", online=True).user
    case = CaseFactory(conversation__integration=bot)
    case_pick(case_id=case.pk, user=maya)
    case_resolve(case_id=case.pk, user=maya, outcome=Case.Outcome.RESOLVED)
    with pytest.raises(CaseTaken):
        case_pick(case_id=case.pk, user=maya)


# --- the customer's channel -----------------------------------------------------------------


def test_taking_a_case_greets_the_customer_as_an_agent_message(
    bot: Integration, listen: Callable[[str], Listener], django_capture_on_commit_callbacks: Any
) -> None:
    maya = AgentProfileFactory(user__username="maya", online=True).user
    case = CaseFactory(conversation__integration=bot, conversation__customer_name="Dana Reyes")
    Conversation.objects.filter(pk=case.conversation_id).update(last_seq=4)
    platform = listen(integration_group(bot.pk))

    with django_capture_on_commit_callbacks(execute=True):
        case_pick(case_id=case.pk, user=maya)

    greeting = Event.objects.get(conversation=case.conversation, role="agent")
    assert (greeting.type, greeting.seq) == (Event.Type.MESSAGE, 5)
    assert greeting.text.startswith("Hi Dana, I'm Maya")
    assert "full context" in greeting.text
    assert platform.received() == [
        {
            "type": "conversation.message",
            "frame": {
                "type": "message",
                "conversation": case.conversation.external_id,
                "role": "agent",
                "text": greeting.text,
                "id": greeting.event_id,
                "at": greeting.payload["at"],
            },
        }
    ]


def test_the_warm_greeting_is_configurable(
    bot: Integration,
    settings: Any,
    listen: Callable[[str], Listener],
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.BATON_WARM_GREETING = "{agent} here, {customer}: I have the whole conversation."
    AgentProfileFactory(user__username="maya", online=True)
    case = CaseFactory(conversation__integration=bot)
    platform = listen(integration_group(bot.pk))

    with django_capture_on_commit_callbacks(execute=True):
        assert cases_auto_assign() == 1
    assert platform.received() == []
    case.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        case_opened(case=case, user=case.assignee)

    [pushed] = platform.received()
    assert pushed["frame"]["text"] == "Maya here, there: I have the whole conversation."
    assert Event.objects.get(conversation=case.conversation, role="agent").text == (
        "Maya here, there: I have the whole conversation."
    )


def test_the_ai_is_refused_while_a_human_owns_the_conversation_and_heard_after_hand_back(
    bot: Integration, django_capture_on_commit_callbacks: Any
) -> None:
    maya = AgentProfileFactory(user__username="maya", online=True).user
    with django_capture_on_commit_callbacks(execute=True):
        results = events_ingest(
            integration=bot,
            raw_events=[
                event("e1", "web-7", 1, text="I need a person, please."),
                event("e2", "web-7", 2, type="handoff", reason="customer_request"),
            ],
        )
    assert [r.status for r in results] == ["stored", "stored"]
    conversation = Conversation.objects.get(integration=bot, external_id="web-7")
    assert conversation.owner == Conversation.Owner.HUMAN
    case = Case.objects.get(conversation=conversation)
    assert case.assignee == maya  # queued once prepared, then assigned to the online agent

    [refused] = events_ingest(
        integration=bot, raw_events=[event("e3", "web-7", 3, role="ai", text="Can I help?")]
    )
    assert (refused.type, refused.code, refused.id) == ("error", "not_owner", "e3")
    [customer] = events_ingest(integration=bot, raw_events=[event("e4", "web-7", 4)])
    assert customer.status == "stored"
    assert not Event.objects.filter(conversation=conversation, event_id="e3").exists()

    with django_capture_on_commit_callbacks(execute=True):
        case_resolve(
            case_id=case.pk, user=maya, outcome=Case.Outcome.HANDED_BACK, note="All sorted."
        )

    [accepted] = events_ingest(
        integration=bot, raw_events=[event("e5", "web-7", 5, role="ai", text="Anything else?")]
    )
    assert (accepted.type, accepted.status) == ("ack", "stored")


def test_handing_back_sends_a_control_frame_giving_the_ai_the_note(
    bot: Integration, listen: Callable[[str], Listener], django_capture_on_commit_callbacks: Any
) -> None:
    maya = AgentProfileFactory(user__username="maya", online=True).user
    case = CaseFactory(conversation__integration=bot)
    case_pick(case_id=case.pk, user=maya)
    platform = listen(integration_group(bot.pk))
    note = "Refunded $40 for the late boots; the customer may ask about the tracking number."

    with django_capture_on_commit_callbacks(execute=True):
        case_resolve(case_id=case.pk, user=maya, outcome=Case.Outcome.HANDED_BACK, note=note)

    assert platform.received() == [
        {
            "type": "conversation.control",
            "frame": {
                "type": "control",
                "conversation": case.conversation.external_id,
                "owner": "ai",
                "by": "agent",
                "note": note,
            },
        }
    ]
    case.refresh_from_db()
    assert (case.status, case.outcome) == (Case.Status.RESOLVED, Case.Outcome.HANDED_BACK)
    assert case.conversation.owner == Conversation.Owner.AI
    resolved = case.timeline.get(kind=CaseEvent.Kind.RESOLVED)
    assert (resolved.actor, resolved.data) == (maya, {"outcome": "handed_back", "note": note})


@pytest.mark.parametrize("outcome", [Case.Outcome.RESOLVED, Case.Outcome.FOLLOW_UP])
def test_other_outcomes_keep_the_conversation_with_humans_and_send_no_control_frame(
    bot: Integration,
    outcome: str,
    listen: Callable[[str], Listener],
    django_capture_on_commit_callbacks: Any,
) -> None:
    maya = AgentProfileFactory(user__username="maya", online=True).user
    case = CaseFactory(conversation__integration=bot)
    case_pick(case_id=case.pk, user=maya)
    platform = listen(integration_group(bot.pk))
    with django_capture_on_commit_callbacks(execute=True):
        case_resolve(case_id=case.pk, user=maya, outcome=outcome)
    assert platform.received() == []
    case.conversation.refresh_from_db()
    assert case.conversation.owner == Conversation.Owner.HUMAN


# --- concurrency (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SKIP LOCKED and row locks need PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_assigners_never_assign_a_case_twice_or_overfill_an_agent() -> None:
    bot, _ = integration_create(name="acme-bot")
    agents = [
        AgentProfileFactory(user__username=f"agent{n:02d}", online=True, capacity=3).user
        for n in range(20)
    ]
    cases = [CaseFactory(conversation__integration=bot) for _ in range(60)]
    assigners = 4
    barrier = threading.Barrier(assigners)
    counts: list[int] = []
    errors: list[BaseException] = []

    def assign() -> None:
        try:
            barrier.wait(timeout=10)
            counts.append(cases_auto_assign())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=assign) for _ in range(assigners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(counts) == assigners
    assignments = list(
        CaseEvent.objects.filter(kind=CaseEvent.Kind.ASSIGNED).values_list("case_id", flat=True)
    )
    # Every assignment event is for a different case, and each matches the case's assignee.
    assert sorted(assignments) == sorted(c.pk for c in cases)
    assert sum(counts) == len(assignments) == 60
    held = Counter(
        Case.objects.filter(status=Case.Status.ASSIGNED).values_list("assignee_id", flat=True)
    )
    assert max(held.values()) <= 3
    assert held == Counter({agent.pk: 3 for agent in agents})
    for case_id, to in CaseEvent.objects.filter(kind=CaseEvent.Kind.ASSIGNED).values_list(
        "case_id", "data__to"
    ):
        assert Case.objects.get(pk=case_id).assignee_id == to
    # Being assigned greets nobody: the customer hears from an agent who opened the case.
    assert not Event.objects.filter(role="agent").exists()


# --- a chosen status survives a disconnect ----------------------------------------------------


def test_away_survives_the_sweep_and_a_reconnect(bot: Integration) -> None:
    maya = AgentProfileFactory(user__username="maya", online=True).user
    presence_heartbeat(user=maya, presence=AgentProfile.Presence.AWAY)
    AgentProfile.objects.filter(user=maya).update(
        last_seen_at=timezone.now() - PRESENCE_TIMEOUT - timedelta(seconds=1)
    )
    assert cases_sweep()["offline"] == 1
    CaseFactory(conversation__integration=bot)

    presence_heartbeat(user=maya)  # the desk page connects again

    profile = AgentProfile.objects.get(user=maya)
    assert (profile.presence, profile.chosen_presence) == ("away", "away")
    assert cases_auto_assign() == 0
    presence_heartbeat(user=maya, presence=AgentProfile.Presence.ONLINE)
    assert AgentProfile.objects.get(user=maya).presence == AgentProfile.Presence.ONLINE


def test_taking_a_case_while_away_stays_away(bot: Integration) -> None:
    maya = AgentProfileFactory(user__username="maya", online=True).user
    presence_heartbeat(user=maya, presence=AgentProfile.Presence.AWAY)
    AgentProfile.objects.filter(user=maya).update(presence=AgentProfile.Presence.OFFLINE)
    case = CaseFactory(conversation__integration=bot)

    case_pick(case_id=case.pk, user=maya)

    assert AgentProfile.objects.get(user=maya).presence == AgentProfile.Presence.AWAY
