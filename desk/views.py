"""Desk pages. Writes are HTMX POSTs that answer with the fragments they changed; links and
forms also work without JavaScript (full page loads and redirects)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from desk.access import agent_required, post_only
from desk.cards import queue_context, queue_href
from desk.forms import QueueFilterForm, queue_query_parse
from desk.limits import NOTE_MAX_CHARS, REPLY_MAX_CHARS, SHORT_NOTE_MAX_CHARS
from desk.selectors import (
    QueueQuery,
    case_page_context,
    case_resolved_line,
    next_case_for_agent,
    queue_filter_choices,
    queue_scope,
)
from escalation.cases.access import (
    CaseAccessError,
    CaseClosed,
    CaseNotFound,
    NotYourCase,
    case_access,
    user_name,
)
from escalation.cases.lifecycle import case_resolve, case_transfer
from escalation.cases.related import case_merge
from escalation.cases.routing import CannotTake, CaseTaken, case_pick
from escalation.cases.work import case_note, case_opened, case_reply
from escalation.models import Case


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
    request: HttpRequest, case: Case, fragment: str | None = None, **kept: str
) -> HttpResponse:
    """The page or, for htmx, its fragment. `kept`: what the person wrote, put back in the
    boxes of a write that was refused (draft_reply, note_text)."""
    context = {**case_page_context(case=case, user=request.user), **kept}
    if request.htmx and fragment:
        return TemplateResponse(request, f"desk/case.html#{fragment}", context)
    return TemplateResponse(request, "desk/case.html", context)


@agent_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    case_opened(case=case, user=request.user)  # the holder looking at it greets the customer
    return _workspace_response(request, case, "workspace")


def _done(request: HttpRequest, case: Case, fragment: str) -> HttpResponse:
    if request.htmx:
        return _workspace_response(request, _case(request, case.pk), fragment)
    return redirect("desk:case", case_id=case.pk)


def _stale(request: HttpRequest, case: Case, error: Exception, not_done: str) -> None:
    """A click on a page that showed a state which has passed (another tab, another person,
    Back): say what happened instead, and that this click changed nothing."""
    fresh = _case(request, case.pk)
    if fresh.status == Case.Status.RESOLVED:
        messages.error(request, f"{case_resolved_line(case=fresh)}; {not_done}")
    else:
        messages.error(request, f"{error} {not_done[0].upper()}{not_done[1:]}")


def _text(request: HttpRequest, name: str) -> str:
    return (request.POST.get(name) or "").strip()


def _too_long(request: HttpRequest, text: str, limit: int, what: str) -> bool:
    """Say so if `text` is over `limit` characters; nothing is ever cut to fit."""
    if len(text) <= limit:
        return False
    messages.error(
        request,
        f"{what} is {len(text):,} characters; the limit is {limit:,}. "
        f"Shorten it by {len(text) - limit:,} and try again.",
    )
    return True


def _refused(request: HttpRequest, case: Case, **kept: str) -> HttpResponse:
    """A write refused for what was written: the page again, with the text still in its box
    (not a redirect, which would lose it)."""
    return _workspace_response(request, _case(request, case.pk), "workspace", **kept)


@agent_required
@post_only
def case_take(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    try:
        case_pick(case_id=case.pk, user=request.user)
    except CannotTake as exc:
        messages.error(request, str(exc))
    except CaseTaken as exc:
        fresh = _case(request, case.pk)
        if fresh.status == Case.Status.RESOLVED:
            messages.error(request, f"{case_resolved_line(case=fresh)}; nothing was changed.")
        elif fresh.assignee_id == request.user.pk:
            messages.info(request, "You have this case already.")
        elif fresh.assignee is not None:
            messages.error(
                request,
                f"Another agent has this case: {user_name(fresh.assignee)} has this case now. "
                "Nothing was changed.",
            )
        else:
            messages.error(request, str(exc))
    return _done(request, case, "workspace")


@agent_required
@post_only
def reply(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    text = _text(request, "text")
    if _too_long(request, text, REPLY_MAX_CHARS, "Your reply"):
        messages.error(request, "Your reply was not sent.")
        return _refused(request, case, draft_reply=text)
    if not text:
        messages.error(request, "Write a reply first.")
    else:
        try:
            case_reply(case_id=case.pk, user=request.user, text=text)
        except (CaseClosed, NotYourCase) as exc:
            _stale(request, case, exc, "your reply was not sent.")
        else:
            response = _done(request, case, "workspace")
            # The page empties the reply box (kept across other swaps) only when it was sent.
            # The event goes to <body>: a live redraw may have replaced the form that asked.
            trigger_client_event(response, "reply-sent", {"target": "body"})
            return response
    return _done(request, case, "workspace")


@agent_required
@post_only
def note(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    text = _text(request, "text")
    if _too_long(request, text, NOTE_MAX_CHARS, "The note"):
        messages.error(request, "Your note was not added.")
        return _refused(request, case, note_text=text)
    if not text:
        messages.error(request, "A note needs some text.")
    else:
        try:
            case_note(case_id=case.pk, user=request.user, text=text)
        except CaseClosed as exc:
            _stale(request, case, exc, "your note was not added.")
        except CaseNotFound:
            # Seen read-only (they transferred it away): the page offers no note form.
            messages.error(request, "You can read this case but no longer add notes to it.")
        else:
            response = _done(request, case, "workspace")
            # The note field is kept across swaps (hx-preserve): emptied once the note is in.
            trigger_client_event(response, "note-added", {"target": "body"})
            return response
    return _done(request, case, "workspace")


@agent_required
@post_only
def transfer(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    target = request.POST.get("target", "")
    kind, _, value = target.partition(":")
    if _too_long(request, _text(request, "note"), SHORT_NOTE_MAX_CHARS, "The transfer note"):
        return _refused(request, case, transfer_note=_text(request, "note"))
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
    except (CaseClosed, NotYourCase) as exc:
        _stale(request, case, exc, "nothing was transferred.")
        return _done(request, case, "workspace")
    except ValueError as exc:
        messages.error(request, str(exc))
        return _done(request, case, "workspace")
    messages.success(request, "Transferred.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("desk:queue"))
    return redirect("desk:queue")


@agent_required
@post_only
def resolve(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    if _too_long(request, _text(request, "note"), SHORT_NOTE_MAX_CHARS, "The resolution note"):
        return _refused(request, case, resolve_note=_text(request, "note"))
    try:
        case_resolve(
            case_id=case.pk,
            user=request.user,
            outcome=request.POST.get("outcome", ""),
            note=_text(request, "note"),
        )
    except (CaseClosed, NotYourCase) as exc:
        _stale(request, case, exc, "nothing was changed.")
        return _done(request, case, "workspace")
    except ValueError as exc:
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


@agent_required
@post_only
def merge(request: HttpRequest, case_id: int) -> HttpResponse:
    """Close this case into the same customer's other open case (`into`), which stays."""
    case = _case(request, case_id)
    try:
        into_id = int(request.POST.get("into") or "")
    except ValueError:
        messages.error(request, "Choose the case to merge into.")
        return redirect("desk:case", case_id=case.pk)
    try:
        into = case_merge(case_id=case.pk, into_id=into_id, user=request.user)
    except CaseNotFound:
        messages.error(request, "No such case to merge into.")
        return redirect("desk:case", case_id=case.pk)
    except (CaseAccessError, ValueError) as exc:
        messages.error(request, str(exc))
        return redirect("desk:case", case_id=case.pk)
    messages.success(request, f"Case {case.pk} was merged into case {into.pk}.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("desk:case", args=[into.pk]))
    return redirect("desk:case", case_id=into.pk)
