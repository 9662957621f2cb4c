from __future__ import annotations

from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    """How contacts end: each conversation's path and outcome, and the figures built on them
    (docs/metrics.md). It reads the layers below it and writes only its own records."""

    name = "outcomes"
    verbose_name = "Outcomes"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from conversations.events import events_stored
        from escalation.models import CaseEvent
        from outcomes.receivers import on_case_event_saved, on_events_stored

        events_stored.connect(on_events_stored, dispatch_uid="outcomes.events_stored")
        post_save.connect(
            on_case_event_saved, sender=CaseEvent, dispatch_uid="outcomes.case_event_saved"
        )
