"""Desk pages. Writes are HTMX POSTs that answer with the fragments they changed; links and
forms also work without JavaScript (full page loads and redirects)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from actions.models import DraftedAction
from conversations.schemas import json_loads_strict
from desk.access import agent_required
from desk.cards import queue_context, queue_href
from desk.forms import QueueFilterForm, queue_query_parse
from desk.selectors import (
    QueueQuery,
    case_page_context,
    next_case_for_agent,
    queue_filter_choices,
    queue_scope,
)
from escalation.cases.access import (
    CaseClosed,
    CaseNotFound,
    NotYourCase,
    case_access,
)
from escalation.cases.lifecycle import case_resolve, case_transfer
from escalation.cases.routing import CannotTake, CaseTaken, case_pick
from escalation.cases.work import case_action_decide, case_note, case_reply
from escalation.models import Case

MAX_TEXT = 4000


@agent_required
def queue(request: HttpRequest) -> HttpResponse:
    scope = queue_scope(user=request.user)
    query, errors = queue_query_parse(request.GET, scope=scope)
    context = {**queue_context(user=request.user, scope=scope, query=query), "errors": errors}
    # The filter form is outside the pushed list: what is typed in it survives a push.
    context["choices"] = {
        **queue_filter_choices(scope=scope, query=query),
        "priority": QueueFilterForm.base_fields["priority"].choices[1:],
        "status": QueueFilterForm.base_fields["status"].choices[1:],
    }
    context["clear_href"] = queue_href(QueueQuery(view=query.view))
    template = "desk/queue.html#queue-list" if request.htmx else "desk/queue.html"
    return TemplateResponse(request, template, context)


def _case(request: HttpRequest, case_id: int) -> Case:
    """The case, if this person may see it; 404 otherwise (ids leak nothing)."""
    try:
        return case_access(user=request.user, case_id=case_id)
    except CaseNotFound as exc:
        raise Http404(str(exc)) from exc


def _workspace_response(
    request: HttpRequest, case: Case, fragment: str | None = None
) -> HttpResponse:
    context = case_page_context(case=case, user=request.user)
    if request.htmx and fragment:
        return TemplateResponse(request, f"desk/case.html#{fragment}", context)
    return TemplateResponse(request, "desk/case.html", context)


@agent_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    return _workspace_response(request, case, "workspace")


def _done(request: HttpRequest, case: Case, fragment: str) -> HttpResponse:
    if request.htmx:
        return _workspace_response(
            request, _case(request, case.pk), fragment
        )
    return redirect("desk:case", case_id=case.pk)


def _text(request: HttpRequest, name: str) -> str:
    return (request.POST.get(name) or "").strip()[:MAX_TEXT]


@agent_required
@require_POST
def case_take(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    try:
        case_pick(case_id=case.pk, user=request.user)
    except (CaseTaken, CannotTake) as exc:
        messages.error(request, str(exc))
    return _done(request, case, "workspace")


@agent_required
@require_POST
def reply(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    text = _text(request, "text")
    if not text:
        messages.error(request, "Write a reply first.")
    else:
        try:
            case_reply(case_id=case.pk, user=request.user, text=text)
        except (CaseClosed, NotYourCase) as exc:
            messages.error(request, str(exc))
        else:
            response = _done(request, case, "workspace")
            # The page empties the reply box (kept across other swaps) only when it was sent.
            response["HX-Trigger"] = "reply-sent"
            return response
    return _done(request, case, "workspace")


@agent_required
@require_POST
def note(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    text = _text(request, "text")
    if not text:
        messages.error(request, "A note needs some text.")
    else:
        try:
            case_note(case_id=case.pk, user=request.user, text=text)
        except CaseClosed as exc:
            messages.error(request, str(exc))
    return _done(request, case, "workspace")


@agent_required
@require_POST
def action_approve(request: HttpRequest, case_id: int, action_id: int) -> HttpResponse:
    case = _case(request, case_id)
    args: Any = None
    raw = request.POST.get("args", "").strip()
    if raw:
        try:
            args = json_loads_strict(raw)
        except ValueError:
            messages.error(
                request,
                "The edited arguments are not valid JSON; nothing was run. "
                f"Your edit was: {raw[:500]}",
            )
            return _done(request, case, "workspace")
        if not isinstance(args, dict):
            messages.error(request, "The edited arguments must be a JSON object; nothing was run.")
            return _done(request, case, "workspace")
    try:
        result = case_action_decide(
            case_id=case.pk,
            drafted_id=action_id,
            user=request.user,
            approve=True,
            args=args,
            note=_text(request, "note"),
        )
    except DraftedAction.DoesNotExist as exc:
        raise Http404("No such action on this case.") from exc
    except (CaseClosed, NotYourCase) as exc:
        messages.error(request, f"{exc} Nothing was run.")
        return _done(request, case, "workspace")
    if result.refusal is not None and result.refusal.reasons == ["no_customer"]:
        messages.error(request, f"{result.tool} was not run. {result.refusal.message}")
    elif result.refusal is not None:
        messages.error(
            request,
            f"{result.tool} with your edit was refused: {result.refusal.message} "
            "The action is unchanged: edit it again, approve it as drafted, or reject it.",
        )
    elif result.status == DraftedAction.Status.EXECUTED:
        messages.success(request, f"{result.tool} done.")
    elif result.status == DraftedAction.Status.FAILED:
        messages.error(request, f"{result.tool} was refused: {result.decision.get('message', '')}")
    else:
        messages.warning(request, result.decision.get("message", "It needs another approval."))
    return _done(request, case, "workspace")


@agent_required
@require_POST
def action_reject(request: HttpRequest, case_id: int, action_id: int) -> HttpResponse:
    case = _case(request, case_id)
    try:
        case_action_decide(
            case_id=case.pk,
            drafted_id=action_id,
            user=request.user,
            approve=False,
            note=_text(request, "note"),
        )
    except DraftedAction.DoesNotExist as exc:
        raise Http404("No such action on this case.") from exc
    except (CaseClosed, NotYourCase) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Rejected: nothing was run.")
    return _done(request, case, "workspace")


@agent_required
@require_POST
def transfer(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    target = request.POST.get("target", "")
    kind, _, value = target.partition(":")
    try:
        if kind == "agent" and value.isdigit():
            case_transfer(
                case_id=case.pk, user=request.user, note=_text(request, "note"), agent_id=int(value)
            )
        elif kind == "team" and value:
            case_transfer(
                case_id=case.pk, user=request.user, note=_text(request, "note"), team=value
            )
        else:
            messages.error(request, "Choose a team or an agent to transfer to.")
            return _done(request, case, "workspace")
    except (CaseClosed, NotYourCase, ValueError) as exc:
        messages.error(request, str(exc))
        return _done(request, case, "workspace")
    messages.success(request, "Transferred.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("desk:queue"))
    return redirect("desk:queue")


@agent_required
@require_POST
def resolve(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    try:
        case_resolve(
            case_id=case.pk,
            user=request.user,
            outcome=request.POST.get("outcome", ""),
            note=_text(request, "note"),
        )
    except (CaseClosed, NotYourCase, ValueError) as exc:
        messages.error(request, str(exc))
        return _done(request, case, "workspace")
    outcome = Case.Outcome(request.POST.get("outcome", "")).label
    messages.success(request, f"Case {case.pk} resolved: {outcome}.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("desk:next"))
    return redirect("desk:next")


@agent_required
def next_case(request: HttpRequest) -> HttpResponse:
    case = next_case_for_agent(user=request.user)
    if case is None:
        messages.info(request, "No case is waiting for you.")
        return redirect("desk:queue")
    return redirect("desk:case", case_id=case.pk)
