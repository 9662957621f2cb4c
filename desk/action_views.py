"""The case page's actions: approve (optionally edited) or reject a drafted action, start a
catalog action, and the supervisors' approvals page. Views
parse and map; the policy decides (actions/services.py) and the case's services record it
(escalation/cases/work.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from actions.catalog import TOOLS
from actions.models import DraftedAction
from actions.policy import Decision
from actions.schema_form import tool_form, tool_form_args
from actions.selectors import conversation_account_id
from actions.services import RejectionWithoutReason
from conversations.schemas import json_loads_strict
from desk.access import agent_required, post_only
from desk.approvals import approvals_context, supervisor_approvals_answer
from desk.selectors import case_page_context
from escalation.cases.access import (
    CaseClosed,
    CaseNotFound,
    NotYourCase,
    case_access,
    user_is_supervisor,
)
from escalation.cases.work import case_action_decide, case_action_preview, case_action_start
from escalation.models import Case

# An approval note or a rejection reason; the form says so too (maxlength).
MAX_NOTE = 1000


def _case(request: HttpRequest, case_id: int) -> Case:
    try:
        return case_access(user=request.user, case_id=case_id)
    except CaseNotFound as exc:
        raise Http404(str(exc)) from exc


def _answer(
    request: HttpRequest, case_id: int, *, kept: dict[int, dict[str, str]] | None = None
) -> HttpResponse:
    """The workspace again (htmx) or a redirect to the case page. `kept`: what the person
    typed into an action's form that did not run, shown again in that form so nothing is lost
    (action id -> {"args": ..., "note": ...})."""
    if request.POST.get("from") == "supervisor":
        # Decided from the console's approvals inbox: answered with the inbox.
        return supervisor_approvals_answer(request, kept=kept)
    if not request.htmx:
        return redirect("desk:case", case_id=case_id)
    context = case_page_context(case=_case(request, case_id), user=request.user)
    for action in context["w"].drafted:
        typed = (kept or {}).get(action.pk)
        if typed:
            action.kept_args = typed.get("args", "")
            action.kept_note = typed.get("note", "")
            action.kept_reason = typed.get("reason", "")
    return TemplateResponse(request, "desk/case.html#workspace", context)


def _note(request: HttpRequest) -> str:
    return (request.POST.get("note") or "").strip()


def _who(action: DraftedAction) -> str:
    user = action.decided_by
    name = (user.get_full_name() or user.username) if user else "someone"
    when = f" at {action.decided_at:%H:%M}" if action.decided_at else ""
    return f"{name}{when}"


def already_decided(action: DraftedAction) -> str:
    """What a person is told whose click did not decide the action: who did, and when."""
    if action.status == DraftedAction.Status.EXECUTED:
        return (
            f"{action.tool} was already approved by {_who(action)} and ran then. "
            "Nothing more was run."
        )
    if action.status == DraftedAction.Status.REJECTED:
        why = f": “{action.decision_note}”" if action.decision_note else ""
        return f"{action.tool} was already rejected by {_who(action)}{why}. Nothing was run."
    return f"{action.tool} was already decided. Nothing more was run."


@agent_required
@post_only
def action_approve(request: HttpRequest, case_id: int, action_id: int) -> HttpResponse:
    case = _case(request, case_id)
    args: Any = None
    raw = request.POST.get("args", "").strip()
    note = _note(request)
    kept = {action_id: {"args": raw, "note": note}}
    if len(note) > MAX_NOTE:
        messages.error(request, f"The note is over {MAX_NOTE} characters; nothing was run.")
        return _answer(request, case.pk, kept=kept)
    if raw:
        try:
            args = json_loads_strict(raw)
        except ValueError:
            messages.error(
                request,
                "The edited arguments are not valid JSON; nothing was run. "
                f"Your edit was: {raw[:500]}",
            )
            return _answer(request, case.pk, kept=kept)
        if not isinstance(args, dict):
            messages.error(request, "The edited arguments must be a JSON object; nothing was run.")
            return _answer(request, case.pk, kept=kept)
    before = DraftedAction.objects.filter(pk=action_id).values_list("args", flat=True).first()
    try:
        result = case_action_decide(
            case_id=case.pk,
            drafted_id=action_id,
            user=request.user,
            approve=True,
            args=args,
            note=note,
        )
    except DraftedAction.DoesNotExist as exc:
        raise Http404("No such action on this case.") from exc
    except (CaseClosed, NotYourCase) as exc:
        messages.error(request, f"{exc} Nothing was run.")
        return _answer(request, case.pk)
    edited = args is not None and args != before
    if result.refusal is not None and result.refusal.reasons == ["no_customer"]:
        messages.error(request, f"{result.tool} was not run. {result.refusal.message}")
    elif result.refusal is not None and edited:
        messages.error(
            request,
            f"{result.tool} with your edit was refused: {result.refusal.message} "
            "The action is unchanged: edit it again, approve it as drafted, or reject it.",
        )
        return _answer(request, case.pk, kept=kept)
    elif result.refusal is not None:
        messages.error(
            request,
            f"{result.tool} was not run: {result.refusal.message} "
            "Edit it and approve it again, or reject it.",
        )
    elif not result.changed and result.status != DraftedAction.Status.DRAFTED:
        messages.warning(request, already_decided(result))
    elif result.status == DraftedAction.Status.EXECUTED:
        messages.success(request, f"{result.tool} done.")
    elif result.held_at is not None and result.decision.get("approver"):
        messages.warning(
            request,
            f"{result.tool} was not run yet: {result.decision.get('message', '')} "
            f"It waits for a {result.decision['approver']}, and they have been told.",
        )
    else:
        messages.warning(request, result.decision.get("message", "It needs another approval."))
    return _answer(request, case.pk)


@agent_required
@post_only
def action_reject(request: HttpRequest, case_id: int, action_id: int) -> HttpResponse:
    case = _case(request, case_id)
    note = _note(request)
    if len(note) > MAX_NOTE:
        messages.error(request, f"The reason is over {MAX_NOTE} characters; nothing was rejected.")
        return _answer(request, case.pk, kept={action_id: {"reason": note}})
    try:
        result = case_action_decide(
            case_id=case.pk,
            drafted_id=action_id,
            user=request.user,
            approve=False,
            note=note,
        )
    except DraftedAction.DoesNotExist as exc:
        raise Http404("No such action on this case.") from exc
    except (CaseClosed, NotYourCase, RejectionWithoutReason) as exc:
        messages.error(request, str(exc))
    else:
        if result.changed:
            messages.success(request, "Rejected: nothing was run.")
        else:
            messages.warning(request, already_decided(result))
    return _answer(request, case.pk)


@agent_required
def approvals(request: HttpRequest) -> HttpResponse:
    """Actions waiting for a supervisor's approval, with links to their cases."""
    if not user_is_supervisor(request.user):
        raise PermissionDenied("Only supervisors approve what is over an agent's authority.")
    return TemplateResponse(request, "desk/approvals.html", approvals_context())


def _start_context(
    request: HttpRequest,
    case: Case,
    *,
    tool_name: str,
    values: dict[str, str] | None = None,
    decision: Decision | None = None,
) -> dict[str, Any]:
    tool = TOOLS.get(tool_name)
    if tool is None or not tool.consequential:
        return {"tool": None}
    customer_id = conversation_account_id(conversation=case.conversation) or ""
    return {
        "tool": tool,
        "fields": tool_form(tool=tool, values=values, customer_id=customer_id),
        "decision": decision,
        "customer_id": customer_id,
    }


def _start_page(request: HttpRequest, case: Case, start: dict[str, Any]) -> HttpResponse:
    context = case_page_context(case=case, user=request.user)
    context["start"] = start
    if request.htmx and not start.get("whole"):
        return TemplateResponse(request, "desk/_action_start.html", context)
    if request.htmx:
        return TemplateResponse(request, "desk/case.html#workspace", context)
    return TemplateResponse(request, "desk/case.html", context)


@agent_required
def action_form(request: HttpRequest, case_id: int) -> HttpResponse:
    """The start form for the chosen tool, generated from its schema (GET ?tool=)."""
    case = _case(request, case_id)
    start = _start_context(request, case, tool_name=request.GET.get("tool", ""))
    return _start_page(request, case, start)


@agent_required
@post_only
def action_preview(request: HttpRequest, case_id: int) -> HttpResponse:
    """What the policy would decide for the form as filled in now; nothing runs."""
    case = _case(request, case_id)
    tool = TOOLS.get(request.POST.get("tool", ""))
    if tool is None or not tool.consequential:
        raise Http404("No such action.")
    customer_id = conversation_account_id(conversation=case.conversation) or ""
    args, _ = tool_form_args(tool=tool, data=request.POST, customer_id=customer_id)
    try:
        decision = case_action_preview(
            case_id=case.pk, user=request.user, tool=tool.name, args=args
        )
    except (CaseClosed, NotYourCase) as exc:
        decision = None
        messages.error(request, str(exc))
    return TemplateResponse(
        request, "desk/_action_preview.html", {"decision": decision, "case": case, "oob": True}
    )


@agent_required
@post_only
def action_start(request: HttpRequest, case_id: int) -> HttpResponse:
    """Start a catalog action for the case's customer: the policy decides, it runs (or waits
    for a supervisor) on the same path as an approved draft. Refused, the form comes back as
    it was filled in, with why."""
    case = _case(request, case_id)
    tool_name = request.POST.get("tool", "")
    tool = TOOLS.get(tool_name)
    if tool is None or not tool.consequential:
        messages.error(request, "Choose an action from the list; nothing was run.")
        return _answer(request, case.pk)
    customer_id = conversation_account_id(conversation=case.conversation) or ""
    args, raw = tool_form_args(tool=tool, data=request.POST, customer_id=customer_id)
    try:
        result = case_action_start(case_id=case.pk, user=request.user, tool=tool.name, args=args)
    except (CaseClosed, NotYourCase) as exc:
        messages.error(request, f"{exc} Nothing was run.")
        result = None
    if isinstance(result, Decision) or result is None:
        if isinstance(result, Decision):
            messages.error(request, f"{tool.name} was not run: {result.message}")
        start = _start_context(request, case, tool_name=tool.name, values=raw, decision=result)
        start["whole"] = True
        return _start_page(request, case, start)
    if result.status == DraftedAction.Status.EXECUTED:
        messages.success(request, f"{result.tool} done.")
    elif result.held_at is not None:
        messages.warning(
            request,
            f"{result.tool} was not run yet: {result.decision.get('message', '')} "
            f"It waits for a {result.decision.get('approver')}, and they have been told.",
        )
    else:
        messages.error(
            request,
            f"{result.tool} was not run: {result.decision.get('message', '')} "
            "It is kept below: edit it and approve it again, or reject it.",
        )
    return _answer(request, case.pk)
