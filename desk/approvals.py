"""Approvals waiting for a supervisor: actions a person approved that the policy held for a
supervisor's authority, on cases still open. Fixed queries, whatever the number."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.template.loader import render_to_string

from actions.models import DraftedAction
from escalation.workload.alerts import approvals_waiting_for_supervisor

APPROVALS_PAGE_SIZE = 100


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


def approvals_fragments(*, with_list: bool) -> str:
    """What a supervisor's socket pushes when approvals change: the header badge, and on the
    approvals page its list too."""
    html = render_to_string(
        "desk/_approvals_badge.html", {"count": approvals_waiting_count(), "oob": True}
    )
    if with_list:
        context: dict[str, Any] = {"approvals": approvals_waiting(), "oob": True}
        html += render_to_string("desk/approvals.html#approvals-list", context)
    return html
