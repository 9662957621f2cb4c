"""What the desk keeps of its own: canned replies."""

from __future__ import annotations

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
