from __future__ import annotations

from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self) -> None:
        from conversations.events import events_stored
        from escalation.receivers import on_events_stored

        events_stored.connect(on_events_stored, dispatch_uid="escalation.events_stored")
