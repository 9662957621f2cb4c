"""What the desk keeps of its own: canned replies and supervisors' personal API tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Macro(models.Model):
    """A canned reply. Variables: {customer_first_name}, {agent_name}, {order_id}."""

    name = models.CharField(max_length=100)
    body = models.TextField()
    team = models.ForeignKey("escalation.Team", null=True, blank=True, on_delete=models.CASCADE)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PersonalToken(models.Model):
    """A person's bearer token for the read-only desk API (GET /api/v1/metrics).

    Only a SHA-256 of the token is kept; the token itself is shown once, when it is issued.
    Whether it works is decided at each request from its owner as they are then: a
    supervisor demoted to agent keeps the row, and gets 403.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(
        max_length=12, help_text="The first characters of the token, to tell tokens apart."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
