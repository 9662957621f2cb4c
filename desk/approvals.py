"""Approvals waiting for a supervisor: actions a person approved that the policy held for a
supervisor's authority, on cases still open. Fixed queries, whatever the number."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse

from actions.models import DraftedAction
from escalation.workload.alerts import approvals_waiting_for_supervisor

APPROVALS_PAGE_SIZE = 100
# The console's inbox (templates/desk/supervisor/board.html), which the approvals page shows too.
INBOX = "desk/supervisor/board.html#approvals-panel"


def _waiting() -> QuerySet[DraftedAction]:
    return approvals_waiting_for_supervisor()


def approvals_waiting() -> list[DraftedAction]:
    """Oldest request first, with the case, its customer and who asked."""
    return list(
        _waiting()
        .select_related("case", "case__conversation", "case__conversation__customer", "held_by")
        .order_by("held_at", "id")[:APPROVALS_PAGE_SIZE]
    )


def approvals_waiting_count() -> int:
    return _waiting().count()


def approvals_context(*, kept: dict[int, dict[str, str]] | None = None) -> dict[str, Any]:
    approvals = approvals_waiting()
    for action in approvals:
        typed = (kept or {}).get(action.pk)
        if typed:
            action.kept_args = typed.get("args", "")
            action.kept_note = typed.get("note", "")
            action.kept_reason = typed.get("reason", "")
    return {"approvals": approvals, "approvals_count": approvals_waiting_count()}


def supervisor_approvals_answer(
    request: HttpRequest, *, kept: dict[int, dict[str, str]] | None = None
) -> HttpResponse:
    """How an approve or reject sent from the console's inbox is answered (the action views
    decide it, as from the case page): the inbox again with what happened, or, without
    htmx, the console at its inbox."""
    if not request.htmx:
        return redirect(reverse("desk:supervisor") + "#approvals-panel")
    return TemplateResponse(request, INBOX, approvals_context(kept=kept))


def approvals_fragments(*, with_list: bool) -> str:
    """What a supervisor's socket pushes when approvals change: the header badge, and on the
    approvals page (and the console) the inbox too."""
    html = render_to_string(
        "desk/_approvals_badge.html", {"count": approvals_waiting_count(), "oob": True}
    )
    if with_list:
        html += render_to_string(INBOX, {**approvals_context(), "oob": True})
    return html
