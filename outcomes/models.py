"""A contact's path and outcome, decided when it ends (docs/metrics.md), and the daily rollups
the metrics page reads."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Path(models.TextChoices):
    AI_ONLY = "ai_only", "AI only"
    AI_THEN_HUMAN = "ai_then_human", "AI then human"
    HUMAN_DIRECT = "human_direct", "Human direct"


class Outcome(models.TextChoices):
    AI_RESOLVED = "ai_resolved", "AI-resolved"
    DEFLECTED = "deflected", "Deflected, not resolved"
    ABANDONED = "abandoned", "Abandoned"
    ESCALATED = "escalated", "Escalated"


class HumanEnd(models.TextChoices):
    """How the human part of an escalated contact ended (its last case's outcome)."""

    RESOLVED = "resolved", "Resolved"
    FOLLOW_UP = "follow_up", "Follow-up needed"
    HANDED_BACK = "handed_back", "Handed back to the AI"
    # A person held it when the contact ended, and never closed their case.
    UNFINISHED = "unfinished", "Not finished"


class Contact(models.Model):
    """One conversation as a contact: who, what about, which path, how it ended.

    Written only by outcomes.services. Open contacts have `ended_at` null and no path yet.
    """

    conversation = models.OneToOneField(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="contact"
    )
    # The customer across conversations: "acct:<store customer id>" when the conversation is
    # bound to a store account or its email is a store customer's, else "email:<address>", else
    # "ext:<integration id>:<external id>"; blank when nothing identifies them.
    customer_key = models.CharField(max_length=300, blank=True)
    account_id = models.CharField(max_length=64, blank=True)
    tier = models.CharField(max_length=10, blank=True)
    topic = models.CharField(max_length=40, blank=True)
    # The team of the last case, blank for ai_only.
    team = models.CharField(max_length=50, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # How it ended: "close" (a close event) or "inactive" (72 h with no event).
    ended_by = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=14, choices=Path.choices, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    # ai_resolved only: positive feedback, or the customer confirmed in words.
    confirmed = models.BooleanField(default=False)
    abandoned_in_queue = models.BooleanField(default=False)
    human_end = models.CharField(max_length=12, choices=HumanEnd.choices, blank=True)
    resolved = models.BooleanField(default=False)
    # Resolved by the first owner who took it: the AI, or one human with no transfer.
    first_owner = models.BooleanField(default=False)
    fcr = models.BooleanField(default=False)
    # The same customer opened another conversation after this one ended, within N days.
    recurred_7d_same = models.BooleanField(default=False)
    recurred_30d_same = models.BooleanField(default=False)
    recurred_30d_any = models.BooleanField(default=False)
    # Ratings from feedback events, 1-5, the last one given for each part.
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_ai = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_human = models.PositiveSmallIntegerField(null=True, blank=True)
    # Handoff quality (escalated contacts only).
    handoff_at = models.DateTimeField(null=True, blank=True)
    ai_seconds = models.FloatField(null=True, blank=True)
    wait_seconds = models.FloatField(null=True, blank=True)
    repeated = models.BooleanField(default=False)
    # What the customer restated, for the figure's evidence: [{"kind", "text", "seq"}].
    repeat_evidence = models.JSONField(default=list, blank=True)
    cold_greeting = models.BooleanField(default=False)
    # Store behaviour in the 60 days after the contact: null until the 60 days have passed.
    repurchased_60d = models.BooleanField(null=True, blank=True)
    cancelled_60d = models.BooleanField(null=True, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["ended_at"],
                condition=Q(ended_at__isnull=False),
                name="outcome_contact_ended_idx",
            ),
            models.Index(
                fields=["customer_key", "started_at"], name="outcome_contact_customer_idx"
            ),
            models.Index(fields=["path", "ended_at"], name="outcome_contact_path_idx"),
            # The wait percentiles read Contact (outcomes.reports.wait_percentiles): on
            # PostgreSQL from this index alone (key columns: SQLite has no INCLUDE).
            models.Index(
                fields=["ended_at", "wait_seconds", "path", "topic", "team", "tier"],
                condition=Q(wait_seconds__isnull=False),
                name="outcome_contact_wait_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"contact {self.conversation_id} ({self.path or 'open'})"


class DirtyDay(models.Model):
    """A day whose rollup is stale: a contact that ended on it changed."""

    day = models.DateField(primary_key=True)
    marked_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return str(self.day)


def _count() -> models.PositiveIntegerField:
    return models.PositiveIntegerField(default=0)


class OutcomeDay(models.Model):
    """The sums of the contacts that ended on one UTC day, per combination of what the
    reports filter and split by. Written only by outcomes.rollups from Contact rows, with the
    expressions of outcomes/sums.py (each count's meaning is there and in docs/metrics.md)."""

    day = models.DateField()
    topic = models.CharField(max_length=40, blank=True)
    team = models.CharField(max_length=50, blank=True)
    tier = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=14, choices=Path.choices)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    human_end = models.CharField(max_length=12, choices=HumanEnd.choices, blank=True)
    confirmed = models.BooleanField(default=False)
    abandoned_in_queue = models.BooleanField(default=False)

    contacts = _count()
    resolved = _count()
    fcr = _count()
    recurred_7d_same = _count()
    recurred_30d_same = _count()
    recurred_30d_any = _count()
    # The contact's CSAT rating (overall, or the one part of a single-owner path).
    rated = _count()
    rating_sum = _count()
    rating_45 = _count()
    rating_1 = _count()
    rating_2 = _count()
    rating_3 = _count()
    rating_4 = _count()
    rating_5 = _count()
    ai_rated = _count()
    ai_rating_sum = _count()
    ai_rating_45 = _count()
    human_rated = _count()
    human_rating_sum = _count()
    human_rating_45 = _count()
    handoffs = _count()
    churn_eligible = _count()
    repurchased = _count()
    cancelled = _count()
    # The handoff factors: contacts with the factor, those of them rated, rated 4-5.
    wait_long = _count()
    wait_long_rated = _count()
    wait_long_45 = _count()
    ai_long = _count()
    ai_long_rated = _count()
    ai_long_45 = _count()
    repeated = _count()
    repeated_rated = _count()
    repeated_45 = _count()
    cold_greeting = _count()
    cold_greeting_rated = _count()
    cold_greeting_45 = _count()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day",
                    "topic",
                    "team",
                    "tier",
                    "path",
                    "outcome",
                    "human_end",
                    "confirmed",
                    "abandoned_in_queue",
                ],
                name="outcome_day_key_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.path} {self.outcome} ({self.contacts})"
