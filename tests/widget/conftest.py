from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from assistant.services import widget_integration
from config.asgi import application
from conversations.models import Conversation
from conversations.services import conversation_message_add, events_ingest
from widget.tokens import WidgetSession, conversation_token_new

ORIGIN = [(b"host", b"testserver"), (b"origin", b"http://testserver")]


class Widget:
    """A page's socket: hello, frames, and reading until a frame of some type."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.frames: list[dict[str, Any]] = []

    async def send(self, frame: Any) -> None:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        await self.communicator.send_to(text_data=text)

    async def receive(self) -> dict[str, Any]:
        frame = json.loads(await self.communicator.receive_from(timeout=5))
        self.frames.append(frame)
        return frame

    async def until(self, kind: str, **match: Any) -> dict[str, Any]:
        while True:
            frame = await self.receive()
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def drain(self) -> list[dict[str, Any]]:
        """Every frame that arrives within a short while."""
        got = []
        while not await self.communicator.receive_nothing(timeout=0.3):
            got.append(await self.receive())
        return got

    def events(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == "event"]

    async def close(self) -> None:
        await self.communicator.disconnect()


@pytest.fixture
async def open_widget() -> AsyncIterator[Callable[..., Any]]:
    opened: list[Widget] = []

    async def start(token: str | None, after: int = 0, hello: bool = True) -> Widget:
        communicator = WebsocketCommunicator(application, "/ws/widget/", headers=ORIGIN)
        connected, _ = await communicator.connect()
        assert connected
        widget = Widget(communicator)
        opened.append(widget)
        if hello:
            await widget.send({"type": "hello", "token": token, "after": after})
        return widget

    yield start
    for widget in opened:
        await widget.close()


def new_session(**customer: str) -> tuple[str, WidgetSession]:
    return conversation_token_new(customer=customer or None)


def ai_says(session: WidgetSession, text: str, event_id: str) -> None:
    """The assistant's reply, stored as any AI platform stores one."""
    conversation = Conversation.objects.filter(external_id=session.conversation).first()
    seq = (conversation.last_seq if conversation else 0) + 1
    results = events_ingest(
        integration=widget_integration(),
        raw_events=[
            {
                "type": "message",
                "id": event_id,
                "conversation": session.conversation,
                "seq": seq,
                "at": "2026-12-04T10:00:00Z",
                "role": "ai",
                "text": text,
            }
        ],
    )
    assert results[0].type == "ack", results


def agent_says(session: WidgetSession, text: str, author: str = "Maya") -> None:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(
            external_id=session.conversation
        )
        conversation_message_add(conversation=conversation, role="agent", text=text, author=author)


aai_says = database_sync_to_async(ai_says)
aagent_says = database_sync_to_async(agent_says)
