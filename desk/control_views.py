"""The supervisor controls and alerts over HTTP: each POST parses its form, calls one service
(escalation/workload/controls.py, alerts.py) and answers with the panel it changed. For htmx
that is the panel's fragment (400 with the reason shown in it when the input was refused);
without JavaScript, a redirect back, or the page with the reason."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import reswap

from desk.access import agent_required
from desk.control_fragments import (
    ALERTS_TEMPLATE,
    CONTROLS_TEMPLATE,
    alerts_context,
    controls_context,
)
from escalation.cases.access import user_is_supervisor
from escalation.workload.alerts import AlertGone, alert_acknowledge
from escalation.workload.controls import (
    POLICY_BOUNDS,
    ControlError,
    PolicyInvalid,
    agent_break_end,
    agent_break_start,
    agent_capacity_set,
    agent_cooldown_clear,
    agent_cooldown_set,
    cases_reassign,
    policy_integer_fields,
    team_auto_assign_set,
    workload_policy_update,
)

PAGE = "desk/supervisor/controls.html"


def supervisor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Supervisors only: others get 403, anonymous visitors the login page."""

    @agent_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_is_supervisor(request.user):
            raise PermissionDenied("Only supervisors use the controls.")
        return view(request, *args, **kwargs)

    return wrapper


def _page_context(**extra: Any) -> dict[str, Any]:
    return {**controls_context(**extra), **alerts_context()}


@supervisor_required
def controls_page(request: HttpRequest) -> HttpResponse:
    """The controls and alerts on a page of their own. For htmx (the console, which loads its
    controls panel when it is scrolled to), just the controls panel."""
    if request.htmx:
        return TemplateResponse(
            request, "desk/supervisor/_controls.html#supervisor-controls", controls_context()
        )
    return TemplateResponse(request, PAGE, _page_context())


def _back(request: HttpRequest) -> HttpResponse:
    """Back to the page the form was on (the console or the controls page), if it is ours."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("desk:controls")


def _controls_answer(
    request: HttpRequest, *, notice: str = "", error: str = "", status: int = 200, **extra: Any
) -> HttpResponse:
    """The controls panel after a control: its fragment for htmx, else back to the page."""
    if request.htmx:
        context = controls_context(
            control_notice=notice, control_error=error, oob=True, flash_oob=True, **extra
        )
        html = render_to_string(
            f"{CONTROLS_TEMPLATE}#supervisor-controls", context, request=request
        ) + render_to_string(f"{CONTROLS_TEMPLATE}#control-flash", context, request=request)
        # All out of band: the panel the form was in may already have been redrawn by this
        # very control's push (sent on commit, before this answer), leaving the form's own
        # target detached.
        return reswap(HttpResponse(html, status=status), "none")
    if status >= 400:
        context = _page_context(control_error=error, **extra)
        return TemplateResponse(request, PAGE, context, status=status)
    if notice:
        messages.success(request, notice)
    return _back(request)


def _refused(request: HttpRequest, error: str, **extra: Any) -> HttpResponse:
    return _controls_answer(request, error=error, status=400, **extra)


def _whole(request: HttpRequest, name: str) -> int | None:
    """A whole number from the form, or None if it is missing or not one."""
    value = request.POST.get(name, "").strip()
    if not value or len(value) > 6 or not value.lstrip("-").isdigit():
        return None
    return int(value)


def _run(request: HttpRequest, control: Callable[[], Any], notice: str) -> HttpResponse:
    try:
        control()
    except ControlError as exc:
        return _refused(request, str(exc))
    return _controls_answer(request, notice=notice)


@supervisor_required
@require_POST
def capacity(request: HttpRequest, agent_id: int) -> HttpResponse:
    value = _whole(request, "capacity")
    if value is None:
        return _refused(request, "Capacity is a whole number of cases.")
    return _run(
        request,
        lambda: agent_capacity_set(agent_id=agent_id, capacity=value, by=request.user),
        f"Capacity set to {value}.",
    )


@supervisor_required
@require_POST
def cooldown(request: HttpRequest, agent_id: int) -> HttpResponse:
    minutes = _whole(request, "minutes") if request.POST.get("minutes", "").strip() else None
    if request.POST.get("minutes", "").strip() and minutes is None:
        return _refused(request, "A cool-down lasts a whole number of minutes.")
    return _run(
        request,
        lambda: agent_cooldown_set(agent_id=agent_id, minutes=minutes, by=request.user),
        "Cool-down set: no new hard cases for them until it ends.",
    )


@supervisor_required
@require_POST
def cooldown_clear(request: HttpRequest, agent_id: int) -> HttpResponse:
    return _run(
        request,
        lambda: agent_cooldown_clear(agent_id=agent_id, by=request.user),
        "Cool-down cleared.",
    )


@supervisor_required
@require_POST
def break_start(request: HttpRequest, agent_id: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _run(
        request,
        lambda: agent_break_start(agent_id=agent_id, reason=reason, by=request.user),
        "Sent on a break: they are Away, with the reason on their desk.",
    )


@supervisor_required
@require_POST
def break_end(request: HttpRequest, agent_id: int) -> HttpResponse:
    return _run(
        request,
        lambda: agent_break_end(agent_id=agent_id, by=request.user),
        "Break ended.",
    )


@supervisor_required
@require_POST
def team_auto_assign(request: HttpRequest, team: str) -> HttpResponse:
    paused = request.POST.get("paused", "")
    if paused not in ("0", "1"):
        return _refused(request, "Say whether to pause or resume auto-assignment.")
    return _run(
        request,
        lambda: team_auto_assign_set(team=team, paused=paused == "1", by=request.user),
        "Auto-assignment paused." if paused == "1" else "Auto-assignment resumed.",
    )


@supervisor_required
@require_POST
def reassign(request: HttpRequest) -> HttpResponse:
    raw = request.POST.getlist("case")
    if not all(v.isdigit() and len(v) <= 12 for v in raw):
        return _refused(request, "Choose cases from the list.")
    agent_id = _whole(request, "agent")
    if agent_id is None:
        return _refused(request, "Choose an agent to reassign to.")
    try:
        result = cases_reassign(
            case_ids=[int(v) for v in raw],
            agent_id=agent_id,
            by=request.user,
            note=request.POST.get("note", ""),
        )
    except ControlError as exc:
        return _refused(request, str(exc))
    moved = len(result.moved)
    notice = (
        f"Moved {moved} case{'s' if moved != 1 else ''} to {result.agent_name}." if moved else ""
    )
    if result.refused:
        # The moves that were possible are made; the rest are listed with why.
        return _controls_answer(
            request, notice=notice, status=200 if moved else 400, reassign_result=result
        )
    return _controls_answer(request, notice=notice)


def _number(value: str, *, integer: bool) -> float | int | None:
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    if integer:
        return int(number) if number == int(number) else number
    return number


@supervisor_required
@require_POST
def policy(request: HttpRequest) -> HttpResponse:
    integers = policy_integer_fields()
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    typed: dict[str, str] = {}
    for name in POLICY_BOUNDS:
        raw = request.POST.get(name, "").strip()[:20]
        if not raw:
            continue
        typed[name] = raw
        number = _number(raw, integer=name in integers)
        if number is None:
            errors[name] = "Enter a number."
        else:
            changes[name] = number
    changes["recovery_routing"] = request.POST.get("recovery_routing") == "1"
    if not errors:
        try:
            workload_policy_update(changes=changes, by=request.user)
        except PolicyInvalid as exc:
            errors = exc.errors
        except ControlError as exc:
            return _refused(request, str(exc))
    if errors:
        return _refused(
            request,
            "The policy was not saved: " + "; ".join(errors.values()),
            policy_errors=errors,
            policy_values=typed,
        )
    return _controls_answer(request, notice="Workload policy saved.")


@supervisor_required
@require_POST
def acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    error = ""
    try:
        alert_acknowledge(alert_id=alert_id, user=request.user)
    except AlertGone as exc:
        error = str(exc)
    status = 400 if error else 200
    if request.htmx:
        response = TemplateResponse(
            request,
            f"{ALERTS_TEMPLATE}#supervisor-alerts",
            alerts_context(control_error=error, oob=True),
            status=status,
        )
        return reswap(response, "none")
    if error:
        return TemplateResponse(request, PAGE, _page_context(control_error=error), status=status)
    return _back(request)
