from __future__ import annotations

from django.db import transaction

from conversations.events import queue_group, send_on_commit
from conversations.models import Conversation
from escalation.models import Case


@transaction.atomic
def case_open(
    *, conversation: Conversation, trigger: str, reason: str, note: str = ""
) -> tuple[Case, bool]:
    """Queue a case for the conversation, unless it already has an open one.

    Call while holding the conversation's row lock, so two handoffs cannot both open a case.
    Returns the open case and whether it was created now.
    """
    existing = (
        Case.objects.filter(conversation=conversation).exclude(status=Case.Status.RESOLVED).first()
    )
    if existing is not None:
        return existing, False
    case = Case.objects.create(
        conversation=conversation, trigger=trigger, reason=reason[:100], note=note
    )
    send_on_commit(queue_group(case.team), {"type": "case.queued", "case_id": case.pk})
    return case, True


def signal_record(*, conversation: Conversation, kind: str, evidence: dict) -> None:
    from escalation.models import Signal

    Signal.objects.create(conversation=conversation, kind=kind, evidence=evidence)
