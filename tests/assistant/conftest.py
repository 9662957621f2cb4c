from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from assistant.services import customer_message, widget_integration
from conversations.models import Conversation, Event
from tests.escalation.conftest import rules  # noqa: F401 (the default rules, as the engine's tests seed them)
from tests.factories import Store, store_scenario


@pytest.fixture(autouse=True)
def no_llm(settings: Any) -> None:
    """The deterministic responder unless a test points the assistant at its own fake."""
    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_API_KEY = ""
    settings.BATON_LLM_ENABLED = False


@pytest.fixture
def shop(db: None, rules: Any) -> Store:  # noqa: F811
    return store_scenario()


class Chat:
    """One widget conversation, written as the widget writes it."""

    def __init__(self, name: str, capture: Any) -> None:
        self.name = name
        self.capture = capture
        self.count = 0

    def say(self, text: str, customer: dict[str, Any] | None = None) -> str:
        self.count += 1
        # The commit runs the receivers: the assistant's, then the engine's.
        with self.capture(execute=True):
            result = customer_message(
                conversation_external_id=self.name,
                text=text,
                customer=customer,
                event_id=f"{self.name}-c{self.count}",
            )
        assert result.type == "ack", result
        return self.last_ai()

    @property
    def conversation(self) -> Conversation:
        return Conversation.objects.get(integration=widget_integration(), external_id=self.name)

    def events(self, type: str | None = None) -> list[Event]:
        rows = self.conversation.events.order_by("seq", "id")
        return list(rows.filter(type=type) if type else rows)

    def last_ai(self) -> str:
        said = [e.text for e in self.events("message") if e.role == "ai"]
        return said[-1] if said else ""


@pytest.fixture
def chat(db: None, django_capture_on_commit_callbacks: Any) -> Callable[[str], Chat]:
    return lambda name: Chat(name, django_capture_on_commit_callbacks)
