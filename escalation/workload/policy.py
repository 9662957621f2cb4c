"""The workload policy: the thresholds of the board, alerts and routing (data, pk=1)."""

from __future__ import annotations

from escalation.models import WorkloadPolicy
from escalation.workload.index import Thresholds


def workload_policy() -> WorkloadPolicy:
    """The thresholds row (pk=1), created with the model's defaults if missing."""
    policy, _ = WorkloadPolicy.objects.get_or_create(pk=1)
    return policy


def policy_thresholds(policy: WorkloadPolicy) -> Thresholds:
    return Thresholds(
        hard=policy.hard_difficulty,
        easy=policy.easy_difficulty,
        index_amber=policy.index_amber,
        index_red=policy.index_red,
        occupancy_amber=policy.occupancy_amber,
        occupancy_red=policy.occupancy_red,
    )
