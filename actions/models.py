"""Authority limits (data admins edit), drafted actions and the append-only audit log."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q


class Actor(models.TextChoices):
    AI = "ai", "AI"
    AGENT = "agent", "Agent"
    SUPERVISOR = "supervisor", "Supervisor"


# From least to most authority: an approval goes to the first role whose limits cover the action.
ACTOR_RANK = [Actor.AI, Actor.AGENT, Actor.SUPERVISOR]


class AuthorityLimit(models.Model):
    """What one kind of actor may do on its own. A missing row means the seeded defaults
    (actions.services.DEFAULT_LIMITS), never "no limit"."""

    actor = models.CharField(max_length=12, choices=Actor.choices, unique=True)
    max_refund = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Largest refund or credit this actor may give without approval; empty = any.",
    )
    max_subscription_age_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Oldest subscription this actor may refund; empty = any age.",
    )
    # Money given back adds up: what this kind of actor may give on its own in sum, counting
    # what it already gave (executed actions in the audit log). Empty = no limit in sum.
    max_refund_per_order = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Most this actor may give back on one order, in sum; empty = no sum limit.",
    )
    max_refund_per_conversation = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Most this actor may give back in one conversation, in sum.",
    )
    max_refund_per_customer_day = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Most this actor may give one customer in 24 hours, in sum.",
    )
    may_write = models.BooleanField(
        default=True, help_text="Off: this actor may only read (consequential tools are refused)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "desk_authoritylimit"

    def __str__(self) -> str:
        return f"limits for {self.get_actor_display()}"


class DraftedAction(models.Model):
    """A consequential action waiting for, or past, a human decision."""

    # Set (not stored) when an approval with edited arguments was refused: the draft stands.
    refusal: Any = None
    # Set (not stored) by the call that approved, executed or rejected it.
    changed: bool = False

    class Status(models.TextChoices):
        DRAFTED = "drafted", "Drafted"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        EXECUTED = "executed", "Executed"
        FAILED = "failed", "Failed"

    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversation = models.ForeignKey(
        "conversations.Conversation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="drafted_actions",
    )
    case = models.ForeignKey(
        "escalation.Case",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="drafted_actions",
    )
    customer_id = models.CharField(max_length=64, blank=True, db_index=True)
    tool = models.CharField(max_length=64)
    args = models.JSONField()
    original_args = models.JSONField(help_text="As drafted, before any edit.")
    drafted_by = models.CharField(max_length=12, choices=Actor.choices)
    # A person who started it from a case page (drafted_by is their role); empty for the AI.
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFTED)
    # The policy's view when drafted; it runs again at execution.
    decision = models.JSONField(default=dict)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    # Set when a person's approval was held for a role with more authority (the decision's
    # approver): who asked, and when. Supervisors are told of it (desk/approvals.py).
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    held_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "desk_draftedaction"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "status"], name="drafted_action_case_idx")]

    def __str__(self) -> str:
        return f"{self.tool} ({self.status})"

    @property
    def decidable(self) -> bool:
        """A person can still approve (perhaps edited) or reject it: a draft, or a failed
        execution."""
        return self.status in (self.Status.DRAFTED, self.Status.FAILED)

    @property
    def args_json(self) -> str:
        return json.dumps(self.args, indent=1, sort_keys=True)


class AuditEntry(models.Model):
    """Append-only: services create entries and nothing updates or deletes them."""

    class Kind(models.TextChoices):
        CHECKED = "checked", "Checked"
        DRAFTED = "drafted", "Drafted"
        APPROVED = "approved", "Approved"
        EDITED = "edited", "Edited"
        REJECTED = "rejected", "Rejected"
        EXECUTED = "executed", "Executed"
        DENIED = "denied", "Denied"
        HELD = "held", "Held for approval"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.CharField(max_length=12, choices=Actor.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tool = models.CharField(max_length=64)
    args = models.JSONField(default=dict)
    decision = models.CharField(max_length=20, blank=True)
    reasons = models.JSONField(default=list)
    detail = models.TextField(blank=True)
    customer_id = models.CharField(max_length=64, blank=True)
    conversation = models.ForeignKey(
        "conversations.Conversation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    case = models.ForeignKey(
        "escalation.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    drafted_action = models.ForeignKey(
        DraftedAction, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit"
    )
    # Set on executions: the database refuses a second execution of the same drafted action.
    idempotency_key = models.UUIDField(null=True, blank=True)
    # Executions that gave money back: how much, on which order, and the actor's running
    # totals after it (per order, conversation and customer-day), as the limits count them.
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    order_id = models.CharField(max_length=64, blank=True)
    totals = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "desk_auditentry"
        ordering = ["at", "id"]
        verbose_name_plural = "audit entries"
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(kind="executed"),
                name="audit_one_execution_per_key",
            ),
        ]
        indexes = [
            models.Index(fields=["customer_id", "at"], name="audit_customer_idx"),
            models.Index(fields=["case", "at"], name="audit_case_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.tool} by {self.actor}"


class ExecutionRequest(models.Model):
    """An /actions/execute request sent with an Idempotency-Key, and the answer it got: the
    same key with the same body gets that answer again instead of a second execution. Kept
    IDEMPOTENCY_TTL (24 hours)."""

    integration = models.ForeignKey(
        "conversations.Integration", on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    # sha256 of the request's conversation, tool and args, canonically encoded.
    request_hash = models.CharField(max_length=64)
    response = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "key"], name="execution_request_one_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"execute {self.key}"


class AuthorityLimitVersion(models.Model):
    """Every saved state of one actor's authority limits, in order (a rollback adds a copy of
    an older one). `snapshot` holds the limit fields, amounts as strings."""

    actor = models.CharField(max_length=12, choices=Actor.choices)
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    note = models.CharField(max_length=200, blank=True)
    rolled_back_from = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["actor", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["actor", "number"], name="authority_version_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.actor} limits v{self.number}"
