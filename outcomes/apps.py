from __future__ import annotations

from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    """How contacts end: each conversation's path and outcome, and the figures built on them
    (docs/metrics.md). It reads the layers below it and writes only its own records."""

    name = "outcomes"
    verbose_name = "Outcomes"

    def ready(self) -> None:
        from outcomes.receivers import receivers_connect

        receivers_connect()
