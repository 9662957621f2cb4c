"""The demo's simulated staff: agents who work the desk by themselves, so that a supervisor
opening the demo sees a floor at work. They go online, take cases (or are given them by
auto-assignment), greet, reply, decide drafted actions, resolve, take breaks and end their
shifts, each through the same services a person's clicks reach, so the queue, the board and
every push see real events.

`staff_step` is one tick of the floor: it decides with the `rng` it is given and acts on the
clock it is given, so a test drives it like the demo does. `staff_run` calls it every couple
of seconds in the server's own event loop (the in-memory channel layer delivers pushes only
within that process). Times are real, not compressed: a case takes two to four minutes, a
break two to four, a shift is 40 to 70 minutes and is followed by a few minutes off.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone

from actions.models import DraftedAction
from escalation.cases.access import CaseAccessError
from escalation.cases.lifecycle import case_resolve
from escalation.cases.routing import (
    CannotTake,
    CaseTaken,
    case_pick,
    presence_away,
    presence_heartbeat,
)
from escalation.cases.work import case_action_decide, case_opened, case_reply
from escalation.models import AgentProfile, Case, Team
from escalation.signals.topics import TOPIC_KINDS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StaffMember:
    username: str
    first: str
    last: str
    teams: tuple[str, ...]
    skills: tuple[str, ...]
    capacity: int
    # Handle-time factor: above 1 is slower than the floor's usual pace.
    pace: float


# Priya is a specialist only: every case routed to her is a sensitive one, so her runs of
# hard cases come as they would to a bereavement and legal desk. Kwame is trust and safety
# only (prompt injection, fraud), likewise; the rest are general support, where the angry
# customers land.
DEMO_STAFF: tuple[StaffMember, ...] = (
    StaffMember(
        "priya",
        "Priya",
        "Raman",
        ("specialists",),
        ("bereavement", "legal", "injury_safety", "accessibility", "privacy"),
        3,
        1.2,
    ),
    StaffMember(
        "elif",
        "Elif",
        "Demir",
        ("general", "specialists"),
        ("bereavement", "legal", "fraud"),
        3,
        1.0,
    ),
    StaffMember("kwame", "Kwame", "Mensah", ("trust-and-safety",), ("fraud", "privacy"), 3, 0.9),
    StaffMember("tomas", "Tomás", "Álvarez", ("general",), (), 4, 0.8),
    StaffMember("hannah", "Hannah", "Weiss", ("general",), (), 3, 1.0),
    StaffMember("aiko", "Aiko", "Tanaka", ("general",), (), 4, 0.9),
    StaffMember("jonah", "Jonah", "Fischer", ("general",), (), 3, 1.1),
)
STAFF_USERNAMES = frozenset(member.username for member in DEMO_STAFF)

# Seconds between two heartbeats (routing counts an agent as gone after 75 s of silence).
HEARTBEAT_SECONDS = 30
BREAK_REASONS = ("Coffee break", "Lunch", "Team huddle", "Coaching session", "Screen break")
SHIFT_END_REASON = "End of shift"
# What a person says, by what the case is about: a few lines each, picked at random.
REPLIES: dict[str, tuple[str, ...]] = {
    "bereavement": (
        "I'm so sorry for your loss, {first}. Please don't worry about the account: I'll take "
        "care of it from here.",
        "Thank you for telling me. I've paused everything on the account while we sort this out.",
        "That's all done now. Take all the time you need; you can write to us whenever you like.",
    ),
    "sensitive": (
        "Thank you for raising this with us, {first}. I'm a specialist for these cases and "
        "I'll handle it personally.",
        "I've recorded everything you told me and passed it to the right team with a priority "
        "flag.",
        "You'll get a written confirmation by email today. Is there anything else I should know?",
    ),
    "angry": (
        "I'm sorry, {first}: this isn't the experience you should have had, and I'm taking "
        "it over now.",
        "I understand why you're frustrated. I've checked the order and I can fix this today.",
        "I've put that right and added a note so it doesn't happen again. Thank you for your "
        "patience.",
    ),
    "injection": (
        "Hi {first}, I'm a member of our trust and safety team. I can help with your order, "
        "but I can't change account permissions or refunds outside our policy.",
        "I've reviewed the conversation and secured the account; nothing was changed.",
    ),
    "refund": (
        "Hi {first}, I've picked up your refund request and I'm checking the payment now.",
        "I can see the charge. I've approved what our policy allows and it's on its way back "
        "to you.",
        "The refund usually shows within 3-5 business days. Anything else I can do?",
    ),
    "general": (
        "Hi {first}, thanks for waiting. I've read the conversation, so no need to repeat "
        "anything.",
        "I've checked the order: it's on its way, and I've sent you the latest tracking link.",
        "Done: you'll get an email confirming the change in a few minutes.",
        "Is there anything else I can help you with today?",
    ),
}
OUTCOMES = (
    (Case.Outcome.RESOLVED, 70),
    (Case.Outcome.HANDED_BACK, 20),
    (Case.Outcome.FOLLOW_UP, 10),
)
# Of each drafted action an agent decides, this share is approved (the rest rejected).
APPROVE_SHARE = 0.75
# How long an agent waits for a supervisor to decide an action held for one before closing
# the case as a follow-up.
HELD_WAIT = timedelta(minutes=4)


@dataclass
class CasePlan:
    """How an agent will work one case: when they act next and what is left to do."""

    case_id: int
    kind: str
    replies_left: int
    next_at: datetime
    said: int = 0
    opened: bool = False
    # Drafted actions this agent already tried to approve (the policy may refuse one).
    tried: set[int] = field(default_factory=set)


@dataclass
class StaffAgent:
    member: StaffMember
    user: Any
    shift_start: datetime
    shift_end: datetime
    # off (between shifts), on, away (a break or the end of a shift, finishing what they hold)
    status: str = "off"
    reason: str = ""
    next_break_at: datetime | None = None
    break_until: datetime | None = None
    last_beat: datetime | None = None
    plans: dict[int, CasePlan] = field(default_factory=dict)


@dataclass
class StaffFloor:
    agents: list[StaffAgent]
    # What happened, for a log line and for tests: (username, what, case id or 0).
    acts: list[tuple[str, str, int]] = field(default_factory=list)


def demo_staff_ensure() -> list[Any]:
    """Create (or reset) the simulated agents on the demo's teams; return their users. They
    have no usable password: nobody logs in as them."""
    user_model = get_user_model()
    teams = {team.slug: team for team in Team.objects.all()}
    users = []
    for member in DEMO_STAFF:
        user, _ = user_model.objects.update_or_create(
            username=member.username,
            defaults={
                "first_name": member.first,
                "last_name": member.last,
                "email": f"{member.username}@baton.example",
            },
        )
        if user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
        profile, _ = AgentProfile.objects.update_or_create(
            user=user,
            defaults={
                "role": AgentProfile.Role.AGENT,
                "skills": list(member.skills),
                "capacity": member.capacity,
            },
        )
        profile.teams.set([teams[slug] for slug in member.teams if slug in teams])
        users.append(user)
    return users


def staff_floor_start(*, now: datetime, rng: random.Random) -> StaffFloor:
    """The floor at the start of the demo: every simulated agent offline, starting their
    shift within the first two minutes, the first of them at once."""
    users = {u.username: u for u in get_user_model().objects.filter(username__in=STAFF_USERNAMES)}
    agents = []
    for index, member in enumerate(DEMO_STAFF):
        user = users.get(member.username)
        if user is None:
            continue
        # Left over from an earlier run: they start again from offline.
        presence_away(user=user)
        start = now + timedelta(seconds=0 if index < 2 else rng.uniform(5, 120))
        agents.append(StaffAgent(member, user, start, start + _shift_length(rng)))
    return StaffFloor(agents)


def _shift_length(rng: random.Random) -> timedelta:
    return timedelta(minutes=rng.uniform(40, 70))


def _next_break(now: datetime, rng: random.Random) -> datetime:
    return now + timedelta(minutes=rng.uniform(10, 22))


def case_kind(case: Case) -> str:
    """Which of REPLIES fits the case: its topic, its rule, or what the customer did."""
    code = case.rule.code if case.rule_id else ""
    if case.topic == "bereavement":
        return "bereavement"
    if case.topic in TOPIC_KINDS:
        return "sensitive"
    if code == "prompt-injection":
        return "injection"
    if code == "high-risk" or case.sentiment <= -0.4:
        return "angry"
    if code == "action-denied" or "refund" in (case.summary_line or "").lower():
        return "refund"
    return "general"


def _case_plan(case: Case, *, member: StaffMember, now: datetime, rng: random.Random) -> CasePlan:
    kind = case_kind(case)
    hard = kind in ("bereavement", "sensitive", "angry", "injection")
    replies = rng.randint(2, 3) if hard else rng.randint(1, 3)
    # Reading the packet before the first word: 10-30 s.
    return CasePlan(
        case.pk, kind, replies, now + timedelta(seconds=rng.uniform(10, 30) * member.pace)
    )


def _gap(plan: CasePlan, *, member: StaffMember, rng: random.Random) -> timedelta:
    """Seconds until the agent's next step on a case: a reply takes 30-60 s to read and write,
    longer on a hard one; with 1-3 replies a case takes about two to four minutes."""
    slower = 1.3 if plan.kind in ("bereavement", "sensitive", "angry") else 1.0
    return timedelta(seconds=rng.uniform(30, 60) * member.pace * slower)


def _first_name(case: Case) -> str:
    customer = case.conversation.customer
    name = customer.name if customer is not None else ""
    return name.split()[0] if name else "there"


def _beat(agent: StaffAgent, *, now: datetime, presence: str | None = None) -> None:
    if presence == AgentProfile.Presence.AWAY:
        presence_heartbeat(user=agent.user, presence=presence, reason=agent.reason)
    else:
        presence_heartbeat(user=agent.user, presence=presence)
    agent.last_beat = now


def _held(floor: StaffFloor) -> dict[int, list[Case]]:
    """The open cases each simulated agent holds, in one query."""
    held: dict[int, list[Case]] = {agent.user.pk: [] for agent in floor.agents}
    for case in (
        Case.objects.filter(status=Case.Status.ASSIGNED, assignee_id__in=list(held))
        .select_related("rule", "conversation__customer")
        .order_by("assigned_at", "pk")
    ):
        held[case.assignee_id].append(case)
    return held


def staff_step(*, floor: StaffFloor, now: datetime, rng: random.Random) -> list[tuple]:
    """One tick: each simulated agent does at most one thing that shows (comes online, takes
    a case, replies, decides an action, resolves, leaves for a break or comes back), plus the
    heartbeat that keeps them at the desk. Returns what was done."""
    done: list[tuple[str, str, int]] = []
    held = _held(floor)
    for agent in floor.agents:
        act = _agent_step(agent, cases=held[agent.user.pk], now=now, rng=rng)
        if act is not None:
            done.append((agent.member.username, *act))
        # However busy, they keep their heartbeat (routing counts 75 s of silence as gone).
        if agent.status != "off" and (
            agent.last_beat is None or now - agent.last_beat >= timedelta(seconds=HEARTBEAT_SECONDS)
        ):
            _beat(agent, now=now)
    floor.acts.extend(done)
    return done


def _agent_step(
    agent: StaffAgent, *, cases: list[Case], now: datetime, rng: random.Random
) -> tuple[str, int] | None:
    member = agent.member
    if agent.status == "off":
        if now < agent.shift_start:
            return None
        agent.status, agent.reason = "on", ""
        # The first break comes sooner for some, so a short demo sees one.
        agent.next_break_at = now + timedelta(minutes=rng.uniform(4, 16))
        _beat(agent, now=now, presence=AgentProfile.Presence.ONLINE)
        return ("online", 0)
    # Cases another agent or the sweep took from them are no longer theirs to plan.
    ids = {case.pk for case in cases}
    agent.plans = {pk: plan for pk, plan in agent.plans.items() if pk in ids}
    if agent.status == "on":
        if now >= agent.shift_end:
            return _leave(agent, reason=SHIFT_END_REASON, now=now)
        if agent.next_break_at is not None and now >= agent.next_break_at:
            return _leave(agent, reason=rng.choice(BREAK_REASONS), now=now)
    if agent.status == "away" and not cases:
        if agent.reason == SHIFT_END_REASON:
            presence_away(user=agent.user)
            agent.status, agent.reason = "off", ""
            agent.shift_start = now + timedelta(minutes=rng.uniform(4, 10))
            agent.shift_end = agent.shift_start + _shift_length(rng)
            return ("offline", 0)
        # The break starts once they have finished what they held.
        if agent.break_until is None:
            agent.break_until = now + timedelta(minutes=rng.uniform(2, 4))
        elif now >= agent.break_until:
            agent.status, agent.reason, agent.break_until = "on", "", None
            agent.next_break_at = _next_break(now, rng)
            _beat(agent, now=now, presence=AgentProfile.Presence.ONLINE)
            return ("back", 0)
    for case in cases:
        plan = agent.plans.get(case.pk)
        if plan is None:
            agent.plans[case.pk] = _case_plan(case, member=member, now=now, rng=rng)
            continue
        if now >= plan.next_at:
            return _work(agent, case=case, plan=plan, now=now, rng=rng)
    if agent.status == "on" and len(cases) < member.capacity and rng.random() < 0.2:
        return _take(agent, now=now)
    return None


def _leave(agent: StaffAgent, *, reason: str, now: datetime) -> tuple[str, int]:
    """Away with a reason: no new cases; what they hold they finish first."""
    agent.status, agent.reason, agent.break_until = "away", reason, None
    _beat(agent, now=now, presence=AgentProfile.Presence.AWAY)
    return ("away", 0)


def _take(agent: StaffAgent, *, now: datetime) -> tuple[str, int] | None:
    """Take the most urgent queued case of their teams that they may hold."""
    member = agent.member
    case = (
        Case.objects.filter(status=Case.Status.QUEUED, team__in=member.teams)
        .filter(Q(required_skill="") | Q(required_skill__in=member.skills))
        .exclude(missed_by_id=agent.user.pk)
        .order_by("due_key", "pk")
        .first()
    )
    if case is None:
        return None
    try:
        case_pick(case_id=case.pk, user=agent.user)
    except (CaseTaken, CannotTake):
        return None
    agent.last_beat = now
    return ("took", case.pk)


def _work(
    agent: StaffAgent, *, case: Case, plan: CasePlan, now: datetime, rng: random.Random
) -> tuple[str, int] | None:
    """The next step on a case: open it (the customer is greeted), reply, decide a drafted
    action, and resolve once nothing is left to say."""
    member, user = agent.member, agent.user
    plan.next_at = now + _gap(plan, member=member, rng=rng)
    try:
        if not plan.opened:
            plan.opened = True
            case_opened(case=case, user=user)
            return ("opened", case.pk)
        drafted = (
            DraftedAction.objects.filter(
                conversation_id=case.conversation_id,
                status=DraftedAction.Status.DRAFTED,
                held_at__isnull=True,
            )
            .order_by("pk")
            .first()
        )
        if drafted is not None:
            # An approval the policy refused is rejected on the next look, not tried again.
            approve = drafted.pk not in plan.tried and rng.random() < APPROVE_SHARE
            plan.tried.add(drafted.pk)
            result = case_action_decide(
                case_id=case.pk,
                drafted_id=drafted.pk,
                user=user,
                approve=approve,
                note="" if approve else "Not what the customer asked for.",
            )
            if result.status != DraftedAction.Status.DRAFTED:
                return (str(result.status), case.pk)
            if result.held_at is not None:
                return ("held for a supervisor", case.pk)
            return ("approval refused", case.pk)
        if plan.replies_left > 0:
            lines = REPLIES[plan.kind]
            text = lines[min(plan.said, len(lines) - 1)]
            if plan.said >= len(lines) - 1 and rng.random() < 0.5:
                text = rng.choice(lines[1:])
            case_reply(case_id=case.pk, user=user, text=text.format(first=_first_name(case)))
            plan.said += 1
            plan.replies_left -= 1
            return ("replied", case.pk)
        held = (
            DraftedAction.objects.filter(
                conversation_id=case.conversation_id,
                status=DraftedAction.Status.DRAFTED,
                held_at__isnull=False,
            )
            .values_list("held_at", flat=True)
            .first()
        )
        if held is not None and now - held < HELD_WAIT:
            # Waiting on a supervisor's approval: rita has a few minutes to decide it.
            return None
        outcomes, weights = zip(*OUTCOMES, strict=True)
        outcome = Case.Outcome.FOLLOW_UP if held else rng.choices(outcomes, weights)[0]
        case_resolve(case_id=case.pk, user=user, outcome=outcome, note="")
        agent.plans.pop(case.pk, None)
        return (f"resolved ({outcome})", case.pk)
    except (CaseAccessError, DraftedAction.DoesNotExist, ValueError) as exc:
        # Transferred, re-queued or closed meanwhile: not theirs to work any more.
        logger.info("demo staff %s: case %s: %s", member.username, case.pk, exc)
        agent.plans.pop(case.pk, None)
        return None


def staff_floor_stop(*, floor: StaffFloor) -> None:
    """The demo stops: every simulated agent leaves the desk."""
    for agent in floor.agents:
        presence_away(user=agent.user)
        agent.status = "off"


async def staff_run(*, seed: int = 11, tick: float = 2.0) -> None:
    """The simulated floor, in the server's event loop, until the server stops. Each step runs
    in the thread Django's sync code shares, like a consumer's, so its pushes go out from the
    server's own channel layer."""
    rng = random.Random(seed)

    def start() -> StaffFloor:
        close_old_connections()
        return staff_floor_start(now=timezone.now(), rng=rng)

    def step(floor: StaffFloor) -> None:
        close_old_connections()
        try:
            for username, what, case_id in staff_step(floor=floor, now=timezone.now(), rng=rng):
                logger.info("demo staff %s %s %s", username, what, case_id or "")
        except Exception:
            # A demo agent tripping over a race must not stop the floor.
            logger.exception("demo staff step failed")

    floor = await sync_to_async(start)()
    try:
        while True:
            await sync_to_async(step)(floor)
            await asyncio.sleep(tick)
    finally:
        await sync_to_async(staff_floor_stop)(floor=floor)


def staff_asgi(application: Any) -> Any:
    """The ASGI application, with the simulated floor started in the server's event loop by
    the first connection (daphne has no lifespan events to start it from)."""
    running: list[asyncio.Task[None]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not running:
            running.append(asyncio.get_running_loop().create_task(staff_run()))
        await application(scope, receive, send)

    return app


def staff_floor_stop_all() -> None:
    """Every simulated agent leaves the desk (the demo stopped, its server with it)."""
    for user in get_user_model().objects.filter(username__in=STAFF_USERNAMES):
        presence_away(user=user)
