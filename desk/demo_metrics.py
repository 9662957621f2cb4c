"""Four months of generated contacts for the demo's metrics page, so both reports (churn and
deflection, the handoff gap) have something to stand on: the churn report reads 60-day
windows, which only the first two months have closed.

The history is outcomes.generate's (`manage.py generate_history`), seeded and written in bulk
with backdated times: a few seconds on the embedded default. Its cases are held by the
generator's own inactive agents, so the live desk's agents and their board keep their own
baselines (desk/demo_history.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from conversations.models import Conversation
from outcomes.generate import HISTORY_INTEGRATION, HistoryExists, history_generate

METRICS_CONVERSATIONS = 3000
METRICS_DAYS = 120
METRICS_SEED = 12


@dataclass(frozen=True)
class MetricsHistoryCounts:
    conversations: int
    days: int
    seeded_now: bool

    def line(self) -> str:
        return (
            f"Metrics: {self.conversations} generated contacts over {self.days} days behind "
            "/metrics/ (seeded in bulk, not live work)"
        )


def demo_metrics_seed(
    *,
    conversations: int = METRICS_CONVERSATIONS,
    days: int = METRICS_DAYS,
    seed: int = METRICS_SEED,
    now: datetime | None = None,
) -> MetricsHistoryCounts:
    """Generate the metrics' history once: a second call returns what is there."""
    try:
        counts = history_generate(conversations=conversations, days=days, seed=seed, now=now)
    except HistoryExists:
        there = Conversation.objects.filter(integration__name=HISTORY_INTEGRATION).count()
        return MetricsHistoryCounts(there, days, False)
    return MetricsHistoryCounts(counts.conversations, days, True)
