"""The demo's pace and the summary `make run` prints: how fast the simulator goes so that the
demo agents can keep up, and what is on the desk now."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from conversations.models import Conversation
from desk.demo import DEMO_PEOPLE
from desk.demo_history import HISTORY_INTEGRATION
from desk.demo_staff import STAFF_USERNAMES
from escalation.models import AgentProfile, Case
from outcomes.generate import HISTORY_INTEGRATION as METRICS_INTEGRATION

# The demo's pace: about as many handoffs as the demo agents can answer. A person working a
# chat handoff on the desk (read the packet, reply, maybe approve an action, resolve) takes
# about 6 minutes, a usual handle time for support chat; with the three demo agents that is one
# handoff every 2 minutes. The simulator's conversations send about 5.5 events for each one
# that ends with a person (measured: 154 events and 28 handoffs in a run at 2 events/s with the
# rules as seeded; tests/desk/test_rundemo.py checks it stays about that): most hand off or
# trip a rule after a few turns, some close.
DEMO_HANDLE_MINUTES = 6.0
SIMULATED_EVENTS_PER_HANDOFF = 5.5
# Seconds between two turns of one simulated conversation: a chat's pace, which decides how
# many conversations run at once at a given rate (no more than the simulator's default 4).
SIMULATED_TURN_SECONDS = 12.0
# Events go out at up to one a second until this many conversations went to a person, so the
# first cases are there within seconds (more at once would all fall due together).
SIMULATED_WARMUP_HANDOFFS = 2
# What one of the simulated staff (desk/demo_staff.py) answers: about two cases at once at
# two to five minutes each, less breaks and the minutes between cases.
STAFF_HANDOFFS_PER_MINUTE = 0.4
# A simulated agent's case costs the simulator more events than the handoff: the customer
# answers each of the agent's messages (the greeting and two or so replies) and says the
# rest of their script. Measured: about 12.5 events a handoff in a run with the staff.
STAFF_CUSTOMER_REPLIES = 6.0
# With the staff on, more conversations run at once: those the staff are answering keep
# their place while the customer replies.
STAFF_CONCURRENCY = 8


@dataclass(frozen=True)
class DemoPace:
    agents: int
    handle_minutes: float
    handoffs_per_minute: float
    rate: float
    concurrency: int
    staff: int = 0


def demo_pace(*, rate: float | None = None, staff: int = 0) -> DemoPace:
    """The simulator's events per second for the demo, derived from the demo agents and a
    handle time, and from the `staff` simulated agents, unless `rate` is given; and how many
    conversations run at once at that rate."""
    agents = sum(1 for person in DEMO_PEOPLE if person[3] == AgentProfile.Role.AGENT)
    per_minute = agents / DEMO_HANDLE_MINUTES + staff * STAFF_HANDOFFS_PER_MINUTE
    per_handoff = SIMULATED_EVENTS_PER_HANDOFF + (STAFF_CUSTOMER_REPLIES if staff else 0.0)
    if rate is None:
        rate = round(per_minute * per_handoff / 60, 4)
    else:
        per_minute = rate * 60 / per_handoff
    most = STAFF_CONCURRENCY if staff else 4
    concurrency = max(1, min(most, round(rate * SIMULATED_TURN_SECONDS)))
    return DemoPace(agents, DEMO_HANDLE_MINUTES, per_minute, rate, concurrency, staff)


@dataclass(frozen=True)
class DemoSummary:
    conversations: int
    handoffs: int
    open: int
    queued: int
    overdue: int
    # The simulated staff's presence (desk/demo_staff.py), when they are on.
    staff: dict[str, int] | None = None

    def line(self) -> str:
        line = (
            f"{self.conversations} conversations, {self.handoffs} handoffs, "
            f"{self.open} open cases ({self.queued} queued, {self.overdue} past the "
            "first-reply deadline)"
        )
        if self.staff is not None:
            line += "; simulated staff " + ", ".join(
                f"{self.staff.get(p, 0)} {p}" for p in ("online", "away", "offline")
            )
        return line


def demo_summary(*, staff: bool = False) -> DemoSummary:
    """What `make run` reports every few seconds: two queries, whatever the volume (three
    with the simulated staff's presence). History seeded for the board is not counted: this
    is the live desk."""
    open_statuses = [Case.Status.PREPARING, Case.Status.QUEUED, Case.Status.ASSIGNED]
    seeded = [HISTORY_INTEGRATION, METRICS_INTEGRATION]
    cases = Case.objects.exclude(conversation__integration__name__in=seeded)
    counts = cases.aggregate(
        handoffs=Count("id"),
        open=Count("id", filter=Q(status__in=open_statuses)),
        queued=Count("id", filter=Q(status=Case.Status.QUEUED)),
        overdue=Count(
            "id",
            filter=Q(
                status__in=open_statuses,
                first_response_at__isnull=True,
                sla_due_at__lt=timezone.now(),
            ),
        ),
    )
    presence = None
    if staff:
        presence = dict(
            AgentProfile.objects.filter(user__username__in=STAFF_USERNAMES)
            .values_list("presence")
            .annotate(n=Count("id"))
        )
    conversations = Conversation.objects.exclude(integration__name__in=seeded).count()
    return DemoSummary(conversations=conversations, staff=presence, **counts)
