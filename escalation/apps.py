from __future__ import annotations

from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from conversations.events import events_stored
        from escalation.models import AgentProfile
        from escalation.receivers import on_events_stored, on_roster_changed

        events_stored.connect(on_events_stored, dispatch_uid="escalation.events_stored")
        for signal in (post_save, post_delete):
            signal.connect(
                on_roster_changed, sender=get_user_model(), dispatch_uid=f"user.{signal}"
            )
            signal.connect(on_roster_changed, sender=AgentProfile, dispatch_uid=f"agent.{signal}")
        m2m_changed.connect(
            on_roster_changed, sender=AgentProfile.teams.through, dispatch_uid="agent.teams"
        )
