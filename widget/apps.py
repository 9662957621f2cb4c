from __future__ import annotations

from django.apps import AppConfig


class WidgetConfig(AppConfig):
    """The customer's chat widget (docs/widget.md)."""

    name = "widget"
    verbose_name = "Widget"

    def ready(self) -> None:
        from widget.events import receivers_connect

        receivers_connect()
