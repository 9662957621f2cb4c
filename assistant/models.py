"""The assistant's own record: one row per customer message it answered."""

from __future__ import annotations

from django.db import models

from conversations.models import Conversation, Event


class AssistantTurn(models.Model):
    """The claim on answering a customer message: the unique `answered` lets one task answer
    it, however many run at once; the row also says how (the backend) and what the output
    filter blocked."""

    class Backend(models.TextChoices):
        DETERMINISTIC = "deterministic", "Deterministic responder"
        LLM = "llm", "LLM"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="assistant_turns"
    )
    answered = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="+")
    backend = models.CharField(max_length=20, choices=Backend.choices)
    blocked = models.JSONField(default=list, blank=True)
    handed_off = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"turn on {self.answered_id}"
