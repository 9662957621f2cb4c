"""What a supervisor does about workload: reassign cases, change an agent's capacity, give a
cool-down, send someone on a break, pause a team's auto-assignment, edit the workload policy.

Every control is one transaction that leaves a SupervisorAudit row, and tells the supervisors'
pages (and the agent's own, where they should see it) after commit."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from conversations.events import (
    AgentStatusChanged,
    agent_group,
    enqueue_on_commit,
    send_on_commit,
)
from escalation import tasks
from escalation.cases.access import CaseAccessError, user_is_supervisor, user_name
from escalation.cases.lifecycle import case_transfer
from escalation.cases.routing import presence_changes_record
from escalation.models import (
    AgentProfile,
    Case,
    SupervisorAudit,
    Team,
    WorkloadPolicy,
)
from escalation.workload.policy import workload_policy
from escalation.workload.push import workload_changed_on_commit

MAX_CAPACITY = 30
MAX_COOLDOWN_MINUTES = 240
MAX_REASSIGN = 100
BREAK_REASON_MAX_CHARS = 120
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class ControlError(ValueError):
    """The control was refused: the message says why, in words for the supervisor."""


class PolicyInvalid(ControlError):
    """Some policy fields were refused: `errors` maps each to why."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Reassigned:
    """What a reassignment did: the cases moved, and each refused one with the reason."""

    agent_id: int
    agent_name: str
    moved: tuple[int, ...]
    refused: tuple[tuple[int, str], ...]


def _require_supervisor(by: Any) -> None:
    if not user_is_supervisor(by):
        raise ControlError("Only a supervisor may do that.")


def _agent(*, agent_id: int) -> AgentProfile:
    """The agent's profile, locked (call inside the control's transaction)."""
    profile = (
        AgentProfile.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(user_id=agent_id, user__is_active=True)
        .first()
    )
    if profile is None:
        raise ControlError("No such agent: they may have been removed.")
    return profile


def _audit(*, kind: str, by: Any, agent_id: int | None = None, **fields: Any) -> None:
    SupervisorAudit.objects.create(kind=kind, by=by, agent_id=agent_id, **fields)


def _changed_on_commit(*, agent_id: int | None = None, room: bool = False) -> None:
    """After commit: the supervisors' board and controls redraw, the agent's status area too,
    alerts are evaluated again, and (`room`: someone may take more now) queued cases are
    assigned."""
    workload_changed_on_commit()
    if agent_id is not None:
        send_on_commit(agent_group(agent_id), AgentStatusChanged())
    enqueue_on_commit(tasks.evaluate_alerts)
    if room:
        enqueue_on_commit(tasks.auto_assign)


@transaction.atomic
def cases_reassign(
    *, case_ids: Sequence[int], agent_id: int, by: Any, note: str = ""
) -> Reassigned:
    """Move each case to the agent, on the transfer path (case_transfer) and by its rules: the
    agent must be at the desk, have the skill, not be in a cool-down for a hard case. A
    supervisor may fill them past their capacity. The cases that could not move are
    reported with why; the others move."""
    _require_supervisor(by)
    ids = list(dict.fromkeys(int(i) for i in case_ids))
    if not ids:
        raise ControlError("Choose at least one case to reassign.")
    if len(ids) > MAX_REASSIGN:
        raise ControlError(f"Reassign at most {MAX_REASSIGN} cases at once.")
    target = AgentProfile.objects.select_related("user").filter(user_id=agent_id).first()
    if target is None or not target.user.is_active:
        raise ControlError("No such agent: they may have been removed.")
    note = _CONTROL_CHARS.sub(" ", note).strip()[:500]
    previous = dict(Case.objects.filter(pk__in=ids).values_list("pk", "assignee_id"))
    moved: list[int] = []
    refused: list[tuple[int, str]] = []
    for case_id in ids:
        if case_id not in previous:
            refused.append((case_id, "No such case."))
            continue
        try:
            # Its own savepoint: a refused case leaves nothing behind.
            case = case_transfer(case_id=case_id, user=by, note=note, agent_id=agent_id)
        except (ValueError, CaseAccessError) as exc:
            refused.append((case_id, str(exc)))
            continue
        _audit(
            kind="case_reassign",
            by=by,
            agent_id=agent_id,
            case=case,
            team=case.team,
            data={"from": previous[case_id], "note": note},
        )
        moved.append(case_id)
    if moved:
        _changed_on_commit(agent_id=agent_id)
        for old in {previous[i] for i in moved if previous[i]}:
            send_on_commit(agent_group(old), AgentStatusChanged())
    return Reassigned(
        agent_id=agent_id,
        agent_name=user_name(target.user),
        moved=tuple(moved),
        refused=tuple(refused),
    )


@transaction.atomic
def agent_capacity_set(*, agent_id: int, capacity: int, by: Any) -> AgentProfile:
    """How many open cases routing gives the agent at most (0: none for now)."""
    _require_supervisor(by)
    if not 0 <= capacity <= MAX_CAPACITY:
        raise ControlError(f"Capacity must be between 0 and {MAX_CAPACITY} cases.")
    profile = _agent(agent_id=agent_id)
    old = profile.capacity
    if old == capacity:
        return profile
    profile.capacity = capacity
    profile.save(update_fields=["capacity"])
    _audit(kind="capacity", by=by, agent_id=agent_id, data={"from": old, "to": capacity})
    _changed_on_commit(agent_id=agent_id, room=capacity > old)
    return profile


@transaction.atomic
def agent_cooldown_set(
    *, agent_id: int, minutes: int | None, by: Any, now: datetime | None = None
) -> AgentProfile:
    """No new hard case for the agent for `minutes` (the policy's default length if None):
    routing skips them for cases with d >= the policy's hard threshold. Setting one again
    replaces the old end."""
    _require_supervisor(by)
    if minutes is None:
        minutes = workload_policy().cooldown_minutes
    if not 1 <= minutes <= MAX_COOLDOWN_MINUTES:
        raise ControlError(f"A cool-down lasts 1 to {MAX_COOLDOWN_MINUTES} minutes.")
    profile = _agent(agent_id=agent_id)
    now = now or timezone.now()
    previous = profile.cooldown_until
    profile.cooldown_until = now + timedelta(minutes=minutes)
    profile.save(update_fields=["cooldown_until"])
    _audit(
        kind="cooldown",
        by=by,
        agent_id=agent_id,
        data={
            "minutes": minutes,
            "until": profile.cooldown_until.isoformat(),
            "replaced": previous.isoformat() if previous and previous > now else None,
        },
    )
    _changed_on_commit(agent_id=agent_id)
    return profile


@transaction.atomic
def agent_cooldown_clear(*, agent_id: int, by: Any) -> AgentProfile:
    """End the agent's cool-down early: hard cases may go to them again."""
    _require_supervisor(by)
    profile = _agent(agent_id=agent_id)
    until = profile.cooldown_until
    if until is None or until <= timezone.now():
        raise ControlError(f"{user_name(profile.user)} has no cool-down to clear.")
    profile.cooldown_until = None
    profile.save(update_fields=["cooldown_until"])
    _audit(kind="cooldown_clear", by=by, agent_id=agent_id, data={"was_until": until.isoformat()})
    _changed_on_commit(agent_id=agent_id, room=True)
    return profile


@transaction.atomic
def team_auto_assign_set(*, team: str, paused: bool, by: Any) -> Team:
    """Pause or resume auto-assignment for a team. While paused, routing gives its cases to
    nobody; agents still take them from the queue by hand."""
    _require_supervisor(by)
    row = Team.objects.select_for_update().filter(slug=team).first()
    if row is None:
        raise ControlError(f"No team {team!r}.")
    if row.auto_assign_paused == paused:
        return row
    row.auto_assign_paused = paused
    row.save(update_fields=["auto_assign_paused"])
    _audit(kind="auto_assign_pause" if paused else "auto_assign_resume", by=by, team=team)
    _changed_on_commit(room=not paused)
    return row


def _clean_reason(reason: str) -> str:
    return _CONTROL_CHARS.sub(" ", reason).strip()


@transaction.atomic
def agent_break_start(
    *, agent_id: int, reason: str, by: Any, now: datetime | None = None
) -> AgentProfile:
    """Send the agent on a break: Away, with the reason, as if they had chosen it (their
    status switch shows Away; they end it by choosing Available). They keep the cases they
    hold; routing gives them no new ones meanwhile."""
    _require_supervisor(by)
    reason = _clean_reason(reason)
    if not reason:
        raise ControlError("Say why: the agent sees the reason.")
    if len(reason) > BREAK_REASON_MAX_CHARS:
        raise ControlError(f"The reason is at most {BREAK_REASON_MAX_CHARS} characters.")
    profile = _agent(agent_id=agent_id)
    name = user_name(profile.user)
    if profile.presence == AgentProfile.Presence.OFFLINE:
        raise ControlError(f"{name} is offline.")
    if profile.presence == AgentProfile.Presence.AWAY:
        raise ControlError(f"{name} is already away.")
    now = now or timezone.now()
    profile.presence = AgentProfile.Presence.AWAY
    profile.chosen_presence = AgentProfile.Presence.AWAY
    profile.away_reason = reason
    profile.presence_since = now
    profile.save(update_fields=["presence", "chosen_presence", "away_reason", "presence_since"])
    presence_changes_record(
        user_ids=[agent_id], presence=AgentProfile.Presence.AWAY, reason=reason, by=by, at=now
    )
    _audit(kind="break", by=by, agent_id=agent_id, data={"reason": reason})
    _changed_on_commit(agent_id=agent_id)
    return profile


@transaction.atomic
def agent_break_end(*, agent_id: int, by: Any, now: datetime | None = None) -> AgentProfile:
    """End an agent's break from the console: Available again (if they are at the desk)."""
    _require_supervisor(by)
    profile = _agent(agent_id=agent_id)
    if profile.chosen_presence != AgentProfile.Presence.AWAY:
        raise ControlError(f"{user_name(profile.user)} is not on a break.")
    now = now or timezone.now()
    fields = ["chosen_presence", "away_reason"]
    profile.chosen_presence = AgentProfile.Presence.ONLINE
    profile.away_reason = ""
    if profile.presence == AgentProfile.Presence.AWAY:
        profile.presence = AgentProfile.Presence.ONLINE
        profile.presence_since = now
        fields += ["presence", "presence_since"]
        presence_changes_record(
            user_ids=[agent_id], presence=AgentProfile.Presence.ONLINE, by=by, at=now
        )
    profile.save(update_fields=fields)
    _audit(kind="break_end", by=by, agent_id=agent_id)
    _changed_on_commit(agent_id=agent_id, room=True)
    return profile


# The policy's editable fields and their bounds (inclusive).
POLICY_BOUNDS: dict[str, tuple[float, float]] = {
    "hard_difficulty": (0.05, 1.0),
    "easy_difficulty": (0.0, 0.95),
    "index_amber": (1, 100),
    "index_red": (1, 100),
    "occupancy_amber": (0.1, 1.0),
    "occupancy_red": (0.1, 1.0),
    "intensification_amber": (0.5, 10.0),
    "intensification_red": (0.5, 10.0),
    "shift_hours": (1, 24),
    "approvals_wait_minutes": (1, 240),
    "cooldown_minutes": (1, MAX_COOLDOWN_MINUTES),
    "recovery_after_hard": (1, 20),
}
POLICY_FLAGS = ("recovery_routing",)
_INTEGER_FIELDS = {
    "index_amber",
    "index_red",
    "shift_hours",
    "approvals_wait_minutes",
    "cooldown_minutes",
    "recovery_after_hard",
}


def policy_integer_fields() -> frozenset[str]:
    """The policy fields that take whole numbers (the rest take decimals)."""
    return frozenset(_INTEGER_FIELDS)


# (lower, higher): the first must stay below the second.
_ORDERED = (
    ("easy_difficulty", "hard_difficulty", "The easy threshold must be below the hard one."),
    ("index_amber", "index_red", "The index's amber threshold must be below its red one."),
    ("occupancy_amber", "occupancy_red", "Occupancy amber must be below occupancy red."),
    (
        "intensification_amber",
        "intensification_red",
        "Intensification amber must be below intensification red.",
    ),
)


def _policy_errors(*, policy: WorkloadPolicy, changes: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, value in changes.items():
        if name in POLICY_FLAGS:
            if not isinstance(value, bool):
                errors[name] = f"{name.replace('_', ' ')} is on or off."
            continue
        if name not in POLICY_BOUNDS:
            errors[name] = f"{name!r} is not a workload setting."
            continue
        low, high = POLICY_BOUNDS[name]
        label = WorkloadPolicy._meta.get_field(name).verbose_name
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not numeric or (name in _INTEGER_FIELDS and value != int(value)):
            errors[name] = f"{label.capitalize()} must be a number."
        elif not low <= value <= high:
            errors[name] = f"{label.capitalize()} must be between {low:g} and {high:g}."
    if errors:
        return errors
    for lower, higher, message in _ORDERED:
        if lower in changes or higher in changes:
            low = changes.get(lower, getattr(policy, lower))
            high = changes.get(higher, getattr(policy, higher))
            if low >= high:
                errors[lower if lower in changes else higher] = message
    return errors


@transaction.atomic
def workload_policy_update(*, changes: Mapping[str, Any], by: Any) -> WorkloadPolicy:
    """Change some of the workload policy's thresholds and switches (POLICY_BOUNDS,
    POLICY_FLAGS), all or none: PolicyInvalid names each field refused and why."""
    _require_supervisor(by)
    workload_policy()
    policy = WorkloadPolicy.objects.select_for_update().get(pk=1)
    errors = _policy_errors(policy=policy, changes=changes)
    if errors:
        raise PolicyInvalid(errors)
    changed: dict[str, list[Any]] = {}
    for name, value in changes.items():
        value = int(value) if name in _INTEGER_FIELDS else value
        if getattr(policy, name) != value:
            changed[name] = [getattr(policy, name), value]
            setattr(policy, name, value)
    if not changed:
        return policy
    policy.updated_by = by
    policy.save()
    _audit(kind="workload_policy", by=by, data={"changes": changed})
    # Recovery routing turned on, or a threshold moved, may change who gets what.
    _changed_on_commit(room=True)
    return policy
