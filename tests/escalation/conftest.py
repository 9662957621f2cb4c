from __future__ import annotations

from typing import Any

import pytest

from escalation.models import Rule
from escalation.rules import DEFAULT_RULES
from tests.conftest import event


@pytest.fixture(autouse=True)
def no_llm(settings: Any) -> None:
    """No test reaches a real LLM endpoint, whatever the environment says."""
    settings.BATON_LLM_ENABLED = False


@pytest.fixture
def rules(db: None) -> list[Rule]:
    """The default rules. Migrations seed them, but a transactional test's flush removes them."""
    for spec in DEFAULT_RULES:
        Rule.objects.get_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "condition": spec.condition,
                "action": spec.action,
                "priority": spec.priority,
                "team": spec.team,
                "ai_read_only": spec.ai_read_only,
                "order": spec.order,
            },
        )
    return list(Rule.objects.all())


def say(conversation: str, seq: int, text: str, role: str = "customer") -> dict[str, Any]:
    """A message event with the id `<conversation>-<seq>`."""
    return event(f"{conversation}-{seq}", conversation, seq, role=role, text=text)
