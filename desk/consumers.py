"""The desk's browser socket. It only pushes: writes go over HTTP (htmx POSTs)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import WebsocketConsumer
from django.template.loader import render_to_string

from conversations.events import queue_group
from desk.access import user_is_agent
from desk.selectors import queue_for_agent

QUEUE_TEAMS = ("general",)


class QueueConsumer(WebsocketConsumer):
    def connect(self) -> None:
        user = self.scope.get("user")
        if not user_is_agent(user):
            self.close(code=4403)
            return
        self.groups_joined = [queue_group(team) for team in QUEUE_TEAMS]
        for group in self.groups_joined:
            async_to_sync(self.channel_layer.group_add)(group, self.channel_name)
        self.user = user
        self.accept()
        # Pushes are lossy: every (re)connect starts by sending the whole current queue.
        self._send_queue()

    def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Browsers send nothing but htmx's own frames here; writes go over HTTP.
        return

    def case_queued(self, event: dict[str, Any]) -> None:
        # The whole (bounded) list is re-sent rather than one card, so order and counts stay
        # right even when an earlier push was lost.
        self._send_queue()

    def _send_queue(self) -> None:
        cases = queue_for_agent(user=self.user)
        self.send(
            text_data=render_to_string("desk/queue.html#queue-list", {"cases": cases, "oob": True})
        )
