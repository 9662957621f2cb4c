from __future__ import annotations

from django.apps import AppConfig


class AssistantConfig(AppConfig):
    """Baton's own tier-1 AI for the widget's conversations: a client of the protocol like any
    platform, under the policy layer as the actor `ai` (docs/assistant.md)."""

    name = "assistant"
    verbose_name = "Assistant"

    def ready(self) -> None:
        from assistant.receivers import receivers_connect

        receivers_connect()
