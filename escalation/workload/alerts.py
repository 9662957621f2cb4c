"""Alerts on the supervisor console: thresholds crossed, raised, acknowledged and cleared.

`alerts_evaluate` compares what holds now with the open alerts: one open alert per key
("queue_sla:billing"), raised when its condition starts holding, cleared when it stops. It
runs from Celery beat and after each supervisor control, and is safe to run at any moment:
evaluators serialise on the policy row, so two never raise the same alert."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from actions.models import Actor, DraftedAction
from conversations.events import SUPERVISORS_GROUP, AlertsChanged, send_on_commit
from escalation.models import AgentProfile, Alert, Case, SupervisorAudit, WorkloadPolicy
from escalation.workload.board import AgentWorkload, agents_workload
from escalation.workload.index import level
from escalation.workload.intensity import team_intensification
from escalation.workload.policy import workload_policy

# A queue whose oldest case is this far past its first-reply deadline is red, not amber.
QUEUE_SLA_RED_MINUTES = 10
# Approvals waiting this many times the policy's wait are red.
APPROVALS_RED_FACTOR = 3
RECENTLY_CLEARED = 10
OPEN_ALERTS_SHOWN = 100
# An open alert on a measure clears only once the measure falls this far under its threshold,
# so a value hovering at the line does not raise and clear it every evaluation.
INDEX_HYSTERESIS = 5
RATIO_HYSTERESIS = 0.05  # of the threshold
OCCUPANCY_HYSTERESIS = 0.02
# Without Celery beat (the embedded default), supervisors' open consoles drive the evaluation,
# at most this often per process.
EVALUATE_EVERY_SECONDS = 15.0


@dataclass(frozen=True)
class Condition:
    """An alert's condition that holds now."""

    key: str
    kind: str
    level: str
    message: str
    agent_id: int | None = None
    team: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertsEvaluated:
    raised: tuple[int, ...]
    updated: tuple[int, ...]
    cleared: tuple[int, ...]

    @property
    def changed(self) -> bool:
        return bool(self.raised or self.updated or self.cleared)


def approvals_waiting_for_supervisor() -> QuerySet[DraftedAction]:
    """Actions a person approved that the policy held for a supervisor, on open cases (the
    desk's approvals inbox lists the same)."""
    return DraftedAction.objects.filter(
        status=DraftedAction.Status.DRAFTED,
        held_at__isnull=False,
        decision__decision="needs_approval",
        decision__approver=Actor.SUPERVISOR.value,
        case__status__in=[Case.Status.QUEUED, Case.Status.ASSIGNED],
    )


def _minutes(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def _queue_conditions(*, now: datetime) -> list[Condition]:
    """A team whose oldest queued case is past its first-reply deadline."""
    rows = (
        Case.objects.filter(
            status=Case.Status.QUEUED, first_response_at__isnull=True, sla_due_at__lt=now
        )
        .values("team")
        .annotate(overdue=Count("id"), oldest=Min("sla_due_at"))
        .order_by("team")
    )
    conditions = []
    for row in rows:
        late = _minutes(now - row["oldest"])
        cases = "1 case" if row["overdue"] == 1 else f"{row['overdue']} cases"
        conditions.append(
            Condition(
                key=f"queue_sla:{row['team']}",
                kind=Alert.Kind.QUEUE_SLA,
                level=Alert.Level.RED if late >= QUEUE_SLA_RED_MINUTES else Alert.Level.AMBER,
                team=row["team"],
                message=(
                    f"{row['team']} queue: {cases} past the first-reply deadline, "
                    f"the oldest by {late} min."
                ),
                data={"overdue": row["overdue"], "late_minutes": late},
            )
        )
    return conditions


def _approval_conditions(*, now: datetime, policy: WorkloadPolicy) -> list[Condition]:
    wait = timedelta(minutes=policy.approvals_wait_minutes)
    row = approvals_waiting_for_supervisor().aggregate(
        late=Count("id", filter=Q(held_at__lt=now - wait)), oldest=Min("held_at")
    )
    late = row["late"]
    if not late:
        return []
    waited = _minutes(now - row["oldest"])
    red = waited >= policy.approvals_wait_minutes * APPROVALS_RED_FACTOR
    actions = "1 approval" if late == 1 else f"{late} approvals"
    return [
        Condition(
            key="approvals_waiting",
            kind=Alert.Kind.APPROVALS_WAITING,
            level=Alert.Level.RED if red else Alert.Level.AMBER,
            message=(
                f"{actions} waiting more than {policy.approvals_wait_minutes} min for a "
                f"supervisor, the oldest {waited} min."
            ),
            data={"late": late, "oldest_minutes": waited},
        )
    ]


def _agent_conditions(
    *, rows: list[AgentWorkload], policy: WorkloadPolicy, open_keys: set[str]
) -> list[Condition]:
    """An agent at the desk whose index is amber or red, or whose occupancy is red. Someone
    who has left the desk is no longer at risk of more work: their alerts clear."""
    conditions = []
    for row in rows:
        if row.presence == AgentProfile.Presence.OFFLINE:
            continue
        grade = row.index_level
        if (
            not grade
            and f"agent_index:{row.user_id}" in open_keys
            and row.index >= policy.index_amber - INDEX_HYSTERESIS
        ):
            grade = Alert.Level.AMBER
        if grade:
            threshold = policy.index_red if grade == "red" else policy.index_amber
            run = f", {row.hard_run} hard cases in a row" if row.hard_run >= 2 else ""
            conditions.append(
                Condition(
                    key=f"agent_index:{row.user_id}",
                    kind=Alert.Kind.AGENT_INDEX,
                    level=grade,
                    agent_id=row.user_id,
                    message=(
                        f"{row.name}: intensification index {row.index} "
                        f"({grade} at {threshold}){run}."
                    ),
                    data={"index": row.index, "hard_run": row.hard_run},
                )
            )
        occupied = row.occupancy_level == "red" or (
            f"occupancy:{row.user_id}" in open_keys
            and row.occupancy is not None
            and row.occupancy >= policy.occupancy_red - OCCUPANCY_HYSTERESIS
        )
        if occupied and row.occupancy is not None:
            conditions.append(
                Condition(
                    key=f"occupancy:{row.user_id}",
                    kind=Alert.Kind.OCCUPANCY,
                    level=Alert.Level.RED,
                    agent_id=row.user_id,
                    message=(
                        f"{row.name}: occupancy {row.occupancy:.0%} this shift "
                        f"(red at {policy.occupancy_red:.0%})."
                    ),
                    data={"occupancy": round(row.occupancy, 3)},
                )
            )
    return conditions


def _intensification_conditions(
    *, now: datetime, policy: WorkloadPolicy, open_keys: set[str]
) -> list[Condition]:
    """The desk's intensification over the last 24 hours, and each team's, at or over the
    policy's amber or red: the AI is concentrating the hard contacts on people."""
    seen = team_intensification(now=now, days=1)
    amber, red = policy.intensification_amber, policy.intensification_red
    ratios = [("", seen.ratio), *seen.by_team.items()]
    conditions = []
    for team, ratio in ratios:
        key = f"team_intensification:{team or '*'}"
        grade = level(ratio, amber, red)
        if not grade and key in open_keys and ratio is not None:
            grade = level(ratio, amber * (1 - RATIO_HYSTERESIS), red) and Alert.Level.AMBER
        if not grade or ratio is None:
            continue
        who = f"{team} team" if team else "The desk"
        threshold = red if grade == "red" else amber
        conditions.append(
            Condition(
                key=key,
                kind=Alert.Kind.TEAM_INTENSIFICATION,
                level=grade,
                team=team,
                message=(
                    f"{who}: intensification {ratio:.2f} over 24 h ({grade} at {threshold:g}): "
                    "people get the hard contacts."
                ),
                data={"ratio": ratio},
            )
        )
    return conditions


def alert_conditions(
    *, now: datetime, policy: WorkloadPolicy, open_keys: set[str] | None = None
) -> list[Condition]:
    """Every alert condition that holds now (`open_keys`: the alerts open now, which a
    measure keeps until it is clearly under its threshold)."""
    open_keys = open_keys or set()
    return [
        *_agent_conditions(rows=agents_workload(now=now), policy=policy, open_keys=open_keys),
        *_intensification_conditions(now=now, policy=policy, open_keys=open_keys),
        *_queue_conditions(now=now),
        *_approval_conditions(now=now, policy=policy),
    ]


@transaction.atomic
def alerts_evaluate(*, now: datetime | None = None) -> AlertsEvaluated:
    """Raise an alert for each condition that newly holds, clear each open one whose
    condition no longer holds, and update the level and message of the rest. A rise from
    amber to red asks again for an acknowledgement (and counts as raised). Supervisors'
    pages are told after commit if anything changed."""
    now = now or timezone.now()
    workload_policy()
    # Evaluators take turns: each sees the alerts the one before it raised.
    policy = WorkloadPolicy.objects.select_for_update().get(pk=1)
    current = {
        alert.key: alert for alert in Alert.objects.select_for_update().filter(cleared_at=None)
    }
    raised: list[int] = []
    updated: list[int] = []
    for condition in alert_conditions(now=now, policy=policy, open_keys=set(current)):
        alert = current.pop(condition.key, None)
        if alert is None:
            alert = Alert.objects.create(
                kind=condition.kind,
                level=condition.level,
                key=condition.key,
                agent_id=condition.agent_id,
                team=condition.team,
                message=condition.message[:200],
                data=condition.data,
                raised_at=now,
            )
            raised.append(alert.pk)
            continue
        if (alert.level, alert.message, alert.data) == (
            condition.level,
            condition.message[:200],
            condition.data,
        ):
            continue
        worse = alert.level == Alert.Level.AMBER and condition.level == Alert.Level.RED
        alert.level = condition.level
        alert.message = condition.message[:200]
        alert.data = condition.data
        fields = ["level", "message", "data"]
        if worse:
            alert.acknowledged_at = None
            alert.acknowledged_by = None
            fields += ["acknowledged_at", "acknowledged_by"]
            raised.append(alert.pk)
        else:
            updated.append(alert.pk)
        alert.save(update_fields=fields)
    cleared = [alert.pk for alert in current.values()]
    if cleared:
        Alert.objects.filter(pk__in=cleared).update(cleared_at=now)
    result = AlertsEvaluated(raised=tuple(raised), updated=tuple(updated), cleared=tuple(cleared))
    if result.changed:
        send_on_commit(SUPERVISORS_GROUP, AlertsChanged(raised=list(result.raised)))
    return result


_due_lock = threading.Lock()
_last_evaluated = [0.0]


def alerts_evaluate_due(*, every: float = EVALUATE_EVERY_SECONDS) -> AlertsEvaluated | None:
    """alerts_evaluate, unless this process ran it less than `every` seconds ago. For desks
    without Celery beat: the embedded default's sweeper runs in a process of its own, whose
    pushes never reach the browsers, so the supervisors' sockets run this on their heartbeat."""
    with _due_lock:
        now = time.monotonic()
        if now - _last_evaluated[0] < every:
            return None
        _last_evaluated[0] = now
    return alerts_evaluate()


class AlertGone(ValueError):
    """No such alert."""


@transaction.atomic
def alert_acknowledge(*, alert_id: int, user: Any) -> Alert:
    """A supervisor has seen the alert. It stays open until its condition clears; acknowledging
    it twice, or once it has cleared, changes nothing."""
    alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None:
        raise AlertGone("No such alert.")
    if alert.acknowledged_at is not None or alert.cleared_at is not None:
        return alert
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = user
    alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    SupervisorAudit.objects.create(
        kind="alert_acknowledge",
        by=user,
        agent_id=alert.agent_id,
        team=alert.team,
        data={"alert": alert.pk, "key": alert.key},
    )
    send_on_commit(SUPERVISORS_GROUP, AlertsChanged())
    return alert


def alerts_open() -> list[Alert]:
    """Open alerts, red first, then the newest."""
    alerts = list(
        Alert.objects.filter(cleared_at=None)
        .select_related("agent", "acknowledged_by")
        .order_by("-raised_at", "-id")[:OPEN_ALERTS_SHOWN]
    )
    return sorted(alerts, key=lambda a: a.level != Alert.Level.RED)


def alerts_recently_cleared(*, limit: int = RECENTLY_CLEARED) -> list[Alert]:
    return list(
        Alert.objects.filter(cleared_at__isnull=False)
        .select_related("agent", "acknowledged_by")
        .order_by("-cleared_at", "-id")[:limit]
    )
