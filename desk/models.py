"""The humans who work the desk."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Team(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    skills = models.JSONField(default=list, blank=True, help_text="What this team handles.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    class Role(models.TextChoices):
        AGENT = "agent", "Agent"
        SUPERVISOR = "supervisor", "Supervisor"

    class Presence(models.TextChoices):
        ONLINE = "online", "Online"
        AWAY = "away", "Away"
        OFFLINE = "offline", "Offline"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.AGENT)
    capacity = models.PositiveSmallIntegerField(
        default=5, help_text="How many open cases this agent can hold at once."
    )
    teams = models.ManyToManyField(Team, blank=True, related_name="agents")
    skills = models.JSONField(
        default=list, blank=True, help_text="Topics this agent is trained for, e.g. bereavement."
    )
    presence = models.CharField(max_length=10, choices=Presence.choices, default=Presence.OFFLINE)
    # The desk socket's last heartbeat: presence older than the timeout counts as offline.
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["presence", "last_seen_at"], name="agent_presence_idx")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class Macro(models.Model):
    """A canned reply. Variables: {customer_first_name}, {agent_name}, {order_id}."""

    name = models.CharField(max_length=100)
    body = models.TextField()
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

