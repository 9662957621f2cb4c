"""What the outcomes app does when a lower layer says something happened. Interfaces only:
each receiver asks for the contact refresh task, after commit."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from conversations.events import enqueue_on_commit, events_stored
from escalation.models import CaseEvent
from outcomes import tasks

# The case timeline's entries after which a contact may read differently: how its human part
# ended.
_CASE_ENDS = frozenset({CaseEvent.Kind.RESOLVED, CaseEvent.Kind.MERGED})


def on_events_stored(*, conversation_ids: list[int], **_: Any) -> None:
    # Sent after commit; the task decides which contacts can have changed (cheap for ingest).
    enqueue_on_commit(tasks.refresh_contacts, list(conversation_ids))


def on_case_event_saved(*, instance: CaseEvent, created: bool, **_: Any) -> None:
    if created and instance.kind in _CASE_ENDS:
        # The timeline's writers pass the case they hold: reading it costs no query.
        enqueue_on_commit(tasks.refresh_contacts, [instance.case.conversation_id])


def receivers_connect() -> None:
    """Called from OutcomesConfig.ready()."""
    events_stored.connect(on_events_stored, dispatch_uid="outcomes.events_stored")
    post_save.connect(
        on_case_event_saved, sender=CaseEvent, dispatch_uid="outcomes.case_event_saved"
    )
