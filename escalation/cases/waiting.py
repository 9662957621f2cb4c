"""What the queue's moves mean to the customers waiting in it: their widgets hear that the queue
moved (once per transaction, after commit), and the estimates they were shown are settled
against the wait they had when a person takes the case. Routing and the lifecycle call these;
the estimate itself is estimate.py."""

from __future__ import annotations

from datetime import datetime

from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Q, Value

from conversations import events
from conversations.events import (
    WidgetQueueChanged,
    collect_on_commit,
    widget_conversation_group,
    widget_integration_name,
)
from escalation.models import AgentProfile, Case, WaitEstimateLog

_TEAM, _CASE = "team:", "case:"


def queue_moved_on_commit(*, case: Case) -> None:
    """`case` was queued, taken, requeued or resolved: after commit, every widget waiting in a
    queue the same agents serve is told to read its estimate again, and so is the case's own.
    One read per transaction, whatever moved in it."""
    collect_on_commit(
        "widget-queue", {f"{_TEAM}{case.team}", f"{_CASE}{case.pk}"}, widget_queue_changed_send
    )


def widget_queue_changed_send(items: set[str]) -> None:
    """Push `widget.queue` to the widget conversations whose wait may have changed: those
    queued in the teams that moved or in another team of any agent on one of them (they share
    seats), and those of the cases that moved. One query."""
    teams = {i.removeprefix(_TEAM) for i in items if i.startswith(_TEAM)}
    case_ids = [int(i.removeprefix(_CASE)) for i in items if i.startswith(_CASE)]
    serving = AgentProfile.objects.filter(user__is_active=True, teams__slug__in=teams)
    sharing = AgentProfile.teams.through.objects.filter(agentprofile__in=serving).values(
        "team__slug"
    )
    waiting = Case.objects.filter(conversation__integration__name=widget_integration_name()).filter(
        Q(status=Case.Status.QUEUED) & (Q(team__in=teams) | Q(team__in=sharing))
        | Q(pk__in=case_ids)
    )
    for case_id, conversation_id in waiting.values_list("pk", "conversation_id"):
        # Through the module: the one send every push goes through (and tests record).
        events.send_now(
            widget_conversation_group(conversation_id), WidgetQueueChanged(case_id=case_id)
        )


def wait_estimates_settle(*, case: Case, at: datetime) -> int:
    """A person took `case` at `at`: every estimate shown since it was (re)queued gets the
    wait that followed it. One update; returns how many were settled."""
    return WaitEstimateLog.objects.filter(case_id=case.pk, taken_at__isnull=True).update(
        taken_at=at,
        actual_wait=ExpressionWrapper(
            Value(at, output_field=DateTimeField()) - F("shown_at"),
            output_field=DurationField(),
        ),
    )
