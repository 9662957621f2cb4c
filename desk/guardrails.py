"""The supervisors' guardrail pages: escalation rules and authority limits, edited in two steps
(preview, then save), with their version history and rollback. Views parse and render; the
services decide (escalation/guardrails.py, actions/limits.py)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from actions.limits import (
    LABELS,
    LIMIT_FIELDS,
    LimitsInvalid,
    authority_limit_changes,
    authority_limit_current,
    authority_limit_parse,
    authority_limit_replay,
    authority_limit_snapshot,
    authority_limit_versions,
    authority_limits_overview,
)
from actions.models import Actor
from desk.access import supervisor_required
from escalation.guardrails import (
    FIRED_DAYS,
    NOTE_MAX,
    GuardrailInvalid,
    RulePage,
    authority_limit_rollback,
    authority_limit_update,
    rule_edit_parse,
    rule_page,
    rule_preview,
    rule_rollback,
    rule_update,
    rules_overview,
)
from escalation.rules import FIELDS

RULES_PAGE = "desk/supervisor/rules_detail.html"
LIMITS_PAGE = "desk/supervisor/limits_detail.html"


def _done(request: HttpRequest, url: str, text: str) -> HttpResponse:
    messages.success(request, text)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@supervisor_required
def rules(request: HttpRequest) -> HttpResponse:
    """The escalation rules in the order they run, with how often each fired lately."""
    return TemplateResponse(
        request, "desk/supervisor/rules.html", {"rows": rules_overview(), "days": FIRED_DAYS}
    )


def _rule_page(rule_id: int) -> RulePage:
    page = rule_page(rule_id=rule_id)
    if page is None:
        raise Http404("No such rule.")
    return page


def _rule_answer(
    request: HttpRequest, page: RulePage, *, form: dict[str, str], **context: Any
) -> HttpResponse:
    """The rule page, or for htmx just its editor, showing `form` as typed."""
    template = f"{RULES_PAGE}#rule-editor" if request.htmx else RULES_PAGE
    return TemplateResponse(
        request,
        template,
        {"page": page, "form": form, "errors": {}, "condition_fields": FIELDS, **context},
    )


def _rule_form(request: HttpRequest) -> dict[str, str]:
    return {
        key: request.POST.get(key, "")
        for key in ("condition", "priority", "team", "note", "base_version")
    }


@supervisor_required
def rule_detail(request: HttpRequest, rule_id: int) -> HttpResponse:
    page = _rule_page(rule_id)
    form = {
        "condition": json.dumps(page.rule.condition, indent=2),
        "priority": str(page.rule.priority),
        "team": page.rule.team,
        "note": "",
        "base_version": str(page.version),
    }
    return _rule_answer(request, page, form=form)


@supervisor_required
@require_POST
def rule_preview_view(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Step one: check the edit and replay it over the last days, or show it back to edit."""
    page = _rule_page(rule_id)
    form = _rule_form(request)
    if request.POST.get("step") == "edit":
        return _rule_answer(request, page, form=form)
    try:
        edit = rule_edit_parse(
            condition=form["condition"], priority=form["priority"], team=form["team"]
        )
    except GuardrailInvalid as exc:
        return _rule_answer(request, page, form=form, errors=exc.errors)
    preview = rule_preview(rule=page.rule, edit=edit)
    form["condition"] = json.dumps(edit.condition, indent=2)
    return _rule_answer(request, page, form=form, preview=preview)


@supervisor_required
@require_POST
def rule_save(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Step two: save what was previewed as a new version."""
    page = _rule_page(rule_id)
    form = _rule_form(request)
    try:
        edit = rule_edit_parse(
            condition=form["condition"], priority=form["priority"], team=form["team"]
        )
        version = rule_update(
            rule_id=page.rule.pk,
            edit=edit,
            by=request.user,
            note=form["note"][:NOTE_MAX],
            base_version=_number(form["base_version"]),
        )
    except GuardrailInvalid as exc:
        return _rule_answer(request, _rule_page(rule_id), form=form, errors=exc.errors)
    url = reverse("desk:rule", args=[page.rule.pk])
    return _done(request, url, f"Saved version {version.number} of “{page.rule.name}”.")


@supervisor_required
@require_POST
def rule_rollback_view(request: HttpRequest, rule_id: int) -> HttpResponse:
    page = _rule_page(rule_id)
    url = reverse("desk:rule", args=[page.rule.pk])
    number = _number(request.POST.get("number"))
    try:
        if number is None:
            raise GuardrailInvalid({"form": "Choose a version to roll back to."})
        version = rule_rollback(rule_id=page.rule.pk, number=number, by=request.user)
    except GuardrailInvalid as exc:
        messages.error(request, exc.errors["form"])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return _done(
        request, url, f"Rolled back to version {number}: it is version {version.number} now."
    )


def _actor(actor: str) -> str:
    if actor not in Actor.values:
        raise Http404("No such actor.")
    return actor


@supervisor_required
def limits(request: HttpRequest) -> HttpResponse:
    """Every actor's authority limits, lowest authority first."""
    rows = [
        {
            "actor": limit.actor,
            "label": Actor(limit.actor).label,
            "version": version,
            "values": authority_limit_snapshot(limit),
        }
        for limit, version in authority_limits_overview()
    ]
    return TemplateResponse(
        request,
        "desk/supervisor/limits.html",
        {"rows": rows, "fields": [(name, LABELS[name]) for name in LIMIT_FIELDS]},
    )


def _limit_answer(
    request: HttpRequest, actor: str, *, form: dict[str, Any], **context: Any
) -> HttpResponse:
    versions = authority_limit_versions(actor=actor)
    template = f"{LIMITS_PAGE}#limit-editor" if request.htmx else LIMITS_PAGE
    return TemplateResponse(
        request,
        template,
        {
            "actor": actor,
            "actor_label": Actor(actor).label,
            "current": authority_limit_snapshot(authority_limit_current(actor=actor)),
            "versions": versions,
            "version": versions[0].number if versions else 1,
            "fields": [(name, LABELS[name]) for name in LIMIT_FIELDS],
            "form": form,
            "errors": {},
            **context,
        },
    )


def _limit_form(request: HttpRequest) -> dict[str, Any]:
    form: dict[str, Any] = {name: request.POST.get(name, "").strip() for name in LIMIT_FIELDS}
    form["may_write"] = request.POST.get("may_write", "") in ("on", "true", "1")
    form["note"] = request.POST.get("note", "")
    form["base_version"] = request.POST.get("base_version", "")
    return form


def _form_of(snapshot: dict[str, Any]) -> dict[str, Any]:
    form = {name: "" if value is None else str(value) for name, value in snapshot.items()}
    form["may_write"] = bool(snapshot.get("may_write"))
    return form


@supervisor_required
def limit_detail(request: HttpRequest, actor: str) -> HttpResponse:
    actor = _actor(actor)
    current = authority_limit_snapshot(authority_limit_current(actor=actor))
    return _limit_answer(request, actor, form={**_form_of(current), "note": ""})


@supervisor_required
@require_POST
def limit_preview(request: HttpRequest, actor: str) -> HttpResponse:
    """Step one: check the limits typed and say what saving them would change."""
    actor = _actor(actor)
    form = _limit_form(request)
    if request.POST.get("step") == "edit":
        return _limit_answer(request, actor, form=form)
    try:
        snapshot = authority_limit_parse(data=request.POST)
    except LimitsInvalid as exc:
        return _limit_answer(request, actor, form=form, errors=exc.errors)
    changes = authority_limit_changes(limit=authority_limit_current(actor=actor), snapshot=snapshot)
    return _limit_answer(
        request,
        actor,
        form={**_form_of(snapshot), "note": form["note"], "base_version": form["base_version"]},
        changes=changes,
        replay=authority_limit_replay(actor=actor, snapshot=snapshot) if changes else None,
        previewed=True,
    )


@supervisor_required
@require_POST
def limit_save(request: HttpRequest, actor: str) -> HttpResponse:
    actor = _actor(actor)
    form = _limit_form(request)
    try:
        snapshot = authority_limit_parse(data=request.POST)
        version = authority_limit_update(
            actor=actor,
            snapshot=snapshot,
            by=request.user,
            note=form["note"][:NOTE_MAX],
            base_version=_number(form["base_version"]),
        )
    except LimitsInvalid as exc:
        return _limit_answer(request, actor, form=form, errors=exc.errors)
    url = reverse("desk:limit", args=[actor])
    return _done(
        request, url, f"Saved version {version.number} of the {Actor(actor).label} limits."
    )


@supervisor_required
@require_POST
def limit_rollback_view(request: HttpRequest, actor: str) -> HttpResponse:
    actor = _actor(actor)
    url = reverse("desk:limit", args=[actor])
    number = _number(request.POST.get("number"))
    try:
        if number is None:
            raise LimitsInvalid({"form": "Choose a version to roll back to."})
        version = authority_limit_rollback(actor=actor, number=number, by=request.user)
    except LimitsInvalid as exc:
        messages.error(request, exc.errors["form"])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return _done(
        request, url, f"Rolled back to version {number}: it is version {version.number} now."
    )
