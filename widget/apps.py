from __future__ import annotations

from django.apps import AppConfig


class WidgetConfig(AppConfig):
    name = "widget"
    verbose_name = "Widget"

    def ready(self) -> None:
        from conversations.events import events_stored
        from widget.events import on_events_stored

        events_stored.connect(on_events_stored, dispatch_uid="widget.events_stored")
