"""The supervisor controls and alerts panels, and an agent's own status area: the context and
the rendered fragments, shared by the pages and the sockets that push them (one template
for each piece of UI). Fixed queries, whatever the number of agents or cases."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone

from escalation.models import AgentProfile, Case, Team, WorkloadPolicy
from escalation.workload.alerts import alerts_open, alerts_recently_cleared
from escalation.workload.controls import POLICY_BOUNDS, policy_integer_fields
from escalation.workload.policy import workload_policy

REASSIGN_CASES_SHOWN = 100

CONTROLS_TEMPLATE = "desk/supervisor/_controls.html"
ALERTS_TEMPLATE = "desk/supervisor/_alerts.html"


def control_agents() -> list[AgentProfile]:
    """Every active desk agent (not supervisors), by name, with `open_cases` annotated."""
    return list(
        AgentProfile.objects.filter(user__is_active=True, role=AgentProfile.Role.AGENT)
        .select_related("user")
        .prefetch_related("teams")
        .annotate(
            open_cases=Count("user__cases", filter=Q(user__cases__status=Case.Status.ASSIGNED))
        )
        .order_by("user__first_name", "user__username")
    )


def reassign_cases() -> list[Case]:
    """Open cases a supervisor may move, most urgent first."""
    return list(
        Case.objects.filter(status__in=[Case.Status.QUEUED, Case.Status.ASSIGNED])
        .select_related("assignee", "conversation")
        .order_by("due_key", "id")[:REASSIGN_CASES_SHOWN]
    )


def policy_fields(
    *, policy: WorkloadPolicy, values: dict[str, str] | None = None, errors: dict[str, str]
) -> list[dict[str, Any]]:
    """The policy form's number fields: name, label, help, value (what was typed, after a
    refusal), bounds, step and error."""
    fields = []
    for name, (low, high) in POLICY_BOUNDS.items():
        model_field = WorkloadPolicy._meta.get_field(name)
        integer = name in policy_integer_fields()
        fields.append(
            {
                "name": name,
                "label": str(model_field.verbose_name).capitalize(),
                "help": model_field.help_text,
                "value": (values or {}).get(name, getattr(policy, name)),
                "min": low,
                "max": high,
                "step": "1" if integer else "0.01",
                "error": errors.get(name, ""),
            }
        )
    return fields


def controls_context(
    *,
    policy_values: dict[str, str] | None = None,
    policy_errors: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """What _controls.html reads. `extra`: control_notice, control_error, reassign_result (a
    Reassigned), oob."""
    policy = workload_policy()
    return {
        "control_agents": control_agents(),
        "control_teams": list(Team.objects.order_by("name")),
        "reassign_cases": reassign_cases(),
        "workload_policy": policy,
        "policy_fields": policy_fields(
            policy=policy, values=policy_values, errors=policy_errors or {}
        ),
        "policy_errors": policy_errors or {},
        **extra,
    }


def controls_fragment(**extra: Any) -> str:
    return render_to_string(f"{CONTROLS_TEMPLATE}#supervisor-controls", controls_context(**extra))


def alerts_context(*, raised: Iterable[int] = (), **extra: Any) -> dict[str, Any]:
    """What _alerts.html reads: the open alerts, the recently cleared, and `alerts_new` (the
    ones just raised, which the page may show as a browser notification)."""
    raised = set(raised)
    opened = alerts_open()
    return {
        "alerts_open": opened,
        "alerts_cleared": alerts_recently_cleared(),
        "alerts_new": [a for a in opened if a.pk in raised],
        **extra,
    }


def alerts_fragment(*, raised: Iterable[int] = (), **extra: Any) -> str:
    return render_to_string(
        f"{ALERTS_TEMPLATE}#supervisor-alerts", alerts_context(raised=raised, **extra)
    )


def agent_status_fragment(*, user_id: int, only_if_set: bool = False) -> str:
    """The agent's status switch and status line (break, cool-down), as pushed to their pages
    when a supervisor changes them. `only_if_set`: "" unless they are Away or cooling down
    (what a page that reconnects may have missed)."""
    me = AgentProfile.objects.filter(user_id=user_id).first()
    if me is None:
        return ""
    cooling = me.cooldown_until is not None and me.cooldown_until > timezone.now()
    if only_if_set and me.chosen_presence != AgentProfile.Presence.AWAY and not cooling:
        return ""
    context = {"me": me, "oob": True}
    return render_to_string("desk/_presence.html#presence-select", context) + render_to_string(
        "desk/_presence.html#agent-status", context
    )
