"""The record: who streams conversations in, the conversations, and their events."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Integration(models.Model):
    """An AI platform (or Baton's own widget) allowed to stream conversations in.

    Only a SHA-256 of the token is kept; the token itself is shown once, when it is issued.
    """

    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(
        max_length=12, help_text="The first characters of the token, to tell tokens apart."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class CustomerRef(models.Model):
    """Who the integration says the customer is; linked to an account by the escalation engine."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="customers")
    external_id = models.CharField(max_length=128, blank=True)
    email = models.CharField(max_length=254, blank=True)
    name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "external_id"],
                condition=~Q(external_id=""),
                name="customerref_unique_external_id",
            ),
        ]
        indexes = [models.Index(fields=["integration", "email"])]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id or f"customer {self.pk}"


class Conversation(models.Model):
    class Owner(models.TextChoices):
        AI = "ai", "AI"
        HUMAN = "human", "Human"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    integration = models.ForeignKey(
        Integration, on_delete=models.PROTECT, related_name="conversations"
    )
    external_id = models.CharField(max_length=128)
    owner = models.CharField(max_length=10, choices=Owner.choices, default=Owner.AI)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    customer = models.ForeignKey(
        CustomerRef, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    outcome = models.CharField(max_length=20, blank=True)
    # The store account this conversation is about: one customer per conversation.
    account_id = models.CharField(max_length=64, blank=True)
    # Set when a prompt-injection attempt is seen: the AI may only read from then on.
    ai_read_only = models.BooleanField(default=False)
    # The seq of the `close` event: later events are refused, earlier late ones still fill in.
    closed_at_seq = models.PositiveIntegerField(null=True, blank=True)
    last_seq = models.PositiveIntegerField(default=0)
    # Events were stored that the escalation engine has not analysed yet (see events.py).
    analysis_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "external_id"], name="conversation_unique_external_id"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "owner", "-updated_at"], name="conversation_status_idx"),
        ]

    def __str__(self) -> str:
        return self.external_id


class Event(models.Model):
    """One protocol event, stored once per (integration, client event id)."""

    class Type(models.TextChoices):
        MESSAGE = "message", "Message"
        TOOL_CALL = "tool_call", "Tool call"
        AI_SIGNAL = "ai_signal", "AI signal"
        HANDOFF = "handoff", "Handoff"
        CLOSE = "close", "Close"
        FEEDBACK = "feedback", "Feedback"

    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=128)
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=20, choices=Type.choices)
    role = models.CharField(max_length=20, blank=True)
    text = models.TextField(blank=True)
    # The validated event with the fields the client sent, so reads return its protocol fields.
    payload = models.JSONField()
    at = models.DateTimeField(help_text="When it happened on the client.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "event_id"], name="event_unique_client_id"
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "seq", "id"], name="event_conversation_seq_idx"),
        ]
        ordering = ["seq", "id"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id} (seq {self.seq})"
