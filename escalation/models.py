"""Cases: conversations that need a human, queued for the desk."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Case(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        ASSIGNED = "assigned", "Assigned"
        RESOLVED = "resolved", "Resolved"

    class Trigger(models.TextChoices):
        HANDOFF = "handoff", "AI handoff"
        RULE = "rule", "Guardrail rule"

    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="cases"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    reason = models.CharField(max_length=100)
    note = models.TextField(blank=True)
    team = models.CharField(max_length=50, default="general")
    priority = models.PositiveSmallIntegerField(default=50)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=~Q(status="resolved"),
                name="case_one_open_per_conversation",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "team", "-priority", "queued_at"], name="case_queue_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.status})"


class Signal(models.Model):
    """Something the escalation engine noticed in a conversation, with its evidence."""

    class Kind(models.TextChoices):
        POLICY_DENIED = "policy_denied", "Policy denied an AI action"

    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="signals"
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    evidence = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["conversation", "kind"], name="signal_conversation_idx")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.conversation_id}"
