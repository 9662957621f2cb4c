"""The humans who work the desk."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AgentProfile(models.Model):
    class Role(models.TextChoices):
        AGENT = "agent", "Agent"
        SUPERVISOR = "supervisor", "Supervisor"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.AGENT)
    capacity = models.PositiveSmallIntegerField(
        default=5, help_text="How many open cases this agent can hold at once."
    )

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


from desk.actions.models import Actor, AuditEntry, AuthorityLimit, DraftedAction  # noqa: E402
from desk.store.models import (  # noqa: E402
    Customer,
    Fulfillment,
    Order,
    OrderItem,
    Payment,
    PaymentMethod,
    PriorContact,
    Product,
    Subscription,
    Variant,
)

__all__ = [
    "Actor",
    "AgentProfile",
    "AuditEntry",
    "AuthorityLimit",
    "Customer",
    "DraftedAction",
    "Fulfillment",
    "Order",
    "OrderItem",
    "Payment",
    "PaymentMethod",
    "PriorContact",
    "Product",
    "Subscription",
    "Variant",
]
