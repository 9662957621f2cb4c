"""The workload policy row: the thresholds routing, alerts and the board read."""

from __future__ import annotations

from escalation.models import WorkloadPolicy


def workload_policy() -> WorkloadPolicy:
    """The pk=1 row, created with its defaults if missing."""
    policy, _ = WorkloadPolicy.objects.get_or_create(pk=1)
    return policy
