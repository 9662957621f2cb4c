from __future__ import annotations

from django.db.models import QuerySet

from escalation.models import Case


def case_queue(*, team: str | None = None) -> QuerySet[Case]:
    """Open cases on the queue (packet built), most urgent first, with what a queue card shows
    in the same query."""
    cases = (
        Case.objects.filter(status__in=[Case.Status.QUEUED, Case.Status.ASSIGNED])
        .select_related("conversation", "conversation__customer", "assignee")
        .order_by("-priority", "queued_at", "id")
    )
    if team is not None:
        cases = cases.filter(team=team)
    return cases


def case_get_open(*, case_id: int) -> Case | None:
    return case_queue().filter(pk=case_id).first()
