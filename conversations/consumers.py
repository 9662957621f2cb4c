"""The ingest socket: /ws/ingest/v1/ (docs/protocol.md)."""

from __future__ import annotations

import json
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import WebsocketConsumer
from django.conf import settings

from conversations.events import integration_group
from conversations.schemas import ErrorCode, ErrorOut, json_loads_strict
from conversations.selectors import integration_for_token
from conversations.services import events_ingest

# How long a socket may go on after its token is revoked if the revocation push was lost.
REVOCATION_RECHECK_SECONDS = 30


def bearer_token(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
    return ""


class IngestConsumer(WebsocketConsumer):
    def connect(self) -> None:
        self.token = bearer_token(self.scope)
        integration = integration_for_token(token=self.token)
        if integration is None:
            # Closing before accept refuses the upgrade (HTTP 403).
            self.close(code=4401)
            return
        self.integration = integration
        self.group = integration_group(integration.pk)
        self.checked_at = time.monotonic()
        async_to_sync(self.channel_layer.group_add)(self.group, self.channel_name)
        self.accept()

    def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            async_to_sync(self.channel_layer.group_discard)(self.group, self.channel_name)

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self._still_authorised():
            return
        raw = text_data if text_data is not None else bytes_data or b""
        size = len(raw.encode() if isinstance(raw, str) else raw)
        if size >= settings.BATON_INGEST_CLOSE_FRAME_BYTES:
            self._send_error(
                ErrorCode.TOO_LARGE,
                f"The frame is {size} bytes; the limit is {settings.BATON_INGEST_MAX_FRAME_BYTES}."
                " Frames this large close the socket.",
            )
            # 1009 is the websocket layer's own code: daphne lets an application close only
            # with 1000 or 3000-4999, so the protocol's "too big" is 4009.
            self.close(code=4009)
            return
        if size > settings.BATON_INGEST_MAX_FRAME_BYTES:
            self._send_error(
                ErrorCode.TOO_LARGE,
                f"The frame is {size} bytes; the limit is {settings.BATON_INGEST_MAX_FRAME_BYTES}.",
            )
            return
        try:
            data = json_loads_strict(raw)
        except ValueError as exc:
            self._send_error(ErrorCode.INVALID_JSON, f"The frame is not valid JSON: {exc}.")
            return
        except RecursionError:
            self._send_error(ErrorCode.INVALID_JSON, "The frame is nested too deeply.")
            return
        if isinstance(data, dict):
            events = [data]
        elif isinstance(data, list) and data:
            events = data
        else:
            self._send_error(
                ErrorCode.INVALID_EVENT,
                "A frame must be one event object or a non-empty array of them.",
            )
            return
        if len(events) > settings.BATON_INGEST_MAX_BATCH:
            self._send_error(
                ErrorCode.TOO_LARGE,
                f"A batch holds at most {settings.BATON_INGEST_MAX_BATCH} events.",
            )
            return
        for result in events_ingest(integration=self.integration, raw_events=events):
            self.send(text_data=result.model_dump_json())

    def _still_authorised(self) -> bool:
        now = time.monotonic()
        if now - self.checked_at < REVOCATION_RECHECK_SECONDS:
            return True
        self.checked_at = now
        if integration_for_token(token=self.token) is not None:
            return True
        self.close(code=4403)
        return False

    def _send_error(self, code: str, detail: str) -> None:
        self.send(text_data=ErrorOut(id=None, code=code, detail=detail).model_dump_json())

    # Channel-layer handlers.
    def conversation_control(self, event: dict[str, Any]) -> None:
        self.send(text_data=json.dumps(event["frame"]))

    def conversation_message(self, event: dict[str, Any]) -> None:
        self.send(text_data=json.dumps(event["frame"]))

    def integration_revoked(self, event: dict[str, Any]) -> None:
        # Sent on revocation and on rotation: either way, this socket's token may be dead now.
        if integration_for_token(token=self.token) is None:
            self.close(code=4403)

