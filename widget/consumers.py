"""The widget socket: /ws/widget/ (docs/widget.md).

The first frame is `hello` with the conversation's signed token and the last seq the page
has shown; the socket then serves that one conversation and nothing else. The customer's
messages are protocol events (stored once per id, acked); everything the page shows comes
from the record, fetched again after every push, because pushes are lossy."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import WebsocketConsumer
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import close_old_connections

from conversations.events import case_group, conversation_group, widget_conversation_group
from conversations.models import Conversation
from conversations.schemas import MAX_TEXT_CHARS, AckOut, json_loads_strict
from escalation.cases.estimate import wait_estimate_log
from widget.selectors import widget_conversation, widget_events, widget_state
from widget.services import (
    widget_email_reply_request,
    widget_end,
    widget_feedback_send,
    widget_message_send,
    widget_transcript_mail,
)
from widget.tokens import WidgetSession, conversation_token_read

MAX_FRAME_BYTES = 32 * 1024
TYPING_EVERY_SECONDS = 2.0
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# A customer's message; longer belongs in an email.
MAX_MESSAGE_CHARS = min(4000, MAX_TEXT_CHARS)


# How far below the last seq shown a refresh reads again (see _refresh).
RESEQ_MARGIN = 50

class FrameError(Exception):
    def __init__(self, code: str, detail: str, frame_id: str | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.frame_id = code, detail, frame_id


class WidgetConsumer(WebsocketConsumer):
    session: WidgetSession | None = None
    conversation: Conversation | None = None

    def connect(self) -> None:
        self.groups_joined: set[str] = set()
        self.cursor = 0
        self.shown: set[str] = set()
        self.last_state: dict[str, Any] | None = None
        self.case_id: int | None = None
        self.typing_at = 0.0
        self.accept()

    def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        close_old_connections()
        raw = text_data if text_data is not None else bytes_data or b""
        frame_id = None
        try:
            if len(raw.encode() if isinstance(raw, str) else raw) > MAX_FRAME_BYTES:
                raise FrameError("too_large", f"A frame holds at most {MAX_FRAME_BYTES} bytes.")
            try:
                frame = json_loads_strict(raw)
            except (ValueError, RecursionError) as exc:
                raise FrameError("invalid_json", "The frame is not valid JSON.") from exc
            if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
                raise FrameError("invalid_frame", "A frame is a JSON object with a type.")
            # Named in an error only if it is a usable id (never a 30 KB string sent back).
            raw_id = frame.get("id")
            frame_id = raw_id if isinstance(raw_id, str) and CLIENT_ID.match(raw_id) else None
            kind = frame["type"]
            if kind == "hello":
                self._hello(frame)
                return
            if self.session is None:
                self._send(
                    {
                        "type": "error",
                        "id": None,
                        "code": "unauthorised",
                        "detail": "Say hello with the conversation's token first.",
                    }
                )
                self.close(code=4401)
                return
            handler = FRAME_HANDLERS.get(kind)
            if handler is None:
                raise FrameError(
                    "invalid_frame",
                    f"Unknown frame type {kind[:40]!r}; expected one of "
                    + ", ".join(["hello", *sorted(FRAME_HANDLERS)])
                    + ".",
                )
            handler(self, frame)
        except FrameError as error:
            self._send(
                {
                    "type": "error",
                    "id": error.frame_id or frame_id,
                    "code": error.code,
                    "detail": error.detail,
                }
            )

    # Frames from the page.

    def _hello(self, frame: dict[str, Any]) -> None:
        session = conversation_token_read(frame.get("token"))
        if session is None or (self.session is not None and session != self.session):
            self._send(
                {
                    "type": "error",
                    "id": None,
                    "code": "unauthorised",
                    "detail": "This conversation's link has expired or is not valid.",
                }
            )
            self.close(code=4403)
            return
        after = frame.get("after", 0)
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise FrameError("invalid_frame", "after: the last seq shown, an integer >= 0.")
        self.session = session
        self.cursor = after
        self._send({"type": "ready", "conversation": session.conversation})
        self._refresh()

    def _message(self, frame: dict[str, Any]) -> None:
        client_id = _client_id(frame)
        text = frame.get("text")
        if not isinstance(text, str) or not text.strip():
            raise FrameError("invalid_frame", "text: write a message first.", client_id)
        if len(text) > MAX_MESSAGE_CHARS:
            raise FrameError(
                "too_large", f"A message holds at most {MAX_MESSAGE_CHARS} characters.", client_id
            )
        assert self.session is not None
        self._answer(
            client_id, widget_message_send(session=self.session, client_id=client_id, text=text)
        )

    def _feedback(self, frame: dict[str, Any]) -> None:
        part, rating, comment = frame.get("part"), frame.get("rating"), frame.get("comment", "")
        if part not in ("ai", "human"):
            raise FrameError("invalid_frame", "part: ai or human.")
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise FrameError("invalid_frame", "rating: a whole number from 1 to 5.")
        if not isinstance(comment, str) or len(comment) > 2000:
            raise FrameError("invalid_frame", "comment: at most 2,000 characters.")
        assert self.session is not None
        self._answer(
            f"feedback-{part}",
            widget_feedback_send(
                session=self.session, part=part, rating=rating, comment=comment.strip()
            ),
        )

    def _end(self, frame: dict[str, Any]) -> None:
        assert self.session is not None
        self._answer("close", widget_end(session=self.session))

    def _typing(self, frame: dict[str, Any]) -> None:
        case_id = self.case_id
        now = time.monotonic()
        # The page says it at most every 3 s; a client that floods is heard every 2 s.
        if case_id is not None and now - self.typing_at >= TYPING_EVERY_SECONDS:
            self.typing_at = now
            async_to_sync(self.channel_layer.group_send)(
                case_group(case_id), {"type": "customer.typing", "case_id": case_id}
            )

    def _email_reply(self, frame: dict[str, Any]) -> None:
        client_id = _client_id(frame)
        email = _email(frame, client_id)
        assert self.session is not None
        self._answer(
            client_id,
            widget_email_reply_request(session=self.session, client_id=client_id, email=email),
        )

    def _transcript(self, frame: dict[str, Any]) -> None:
        email = _email(frame, None)
        assert self.session is not None
        if widget_transcript_mail(session=self.session, email=email):
            self._send({"type": "notice", "detail": f"We've emailed the transcript to {email}."})
        else:
            raise FrameError(
                "transcript_refused",
                "The transcript was not sent: there's nothing to send yet, it was sent already, "
                "or the mail could not go out. You can ask again later.",
            )

    def _answer(self, client_id: str, result: Any) -> None:
        if isinstance(result, AckOut):
            self._send(
                {"type": "ack", "id": client_id, "status": result.status, "event": result.id}
            )
            self._refresh()
        else:
            self._send(
                {"type": "error", "id": client_id, "code": result.code, "detail": result.detail}
            )

    # Pushes: each only says that something changed.

    def widget_changed(self, event: dict[str, Any]) -> None:
        close_old_connections()
        self._refresh()

    def widget_queue(self, event: dict[str, Any]) -> None:
        """The queue this conversation's case waits in moved: its position and wait again."""
        close_old_connections()
        self._refresh()

    def conversation_events(self, event: dict[str, Any]) -> None:
        close_old_connections()
        self._refresh()

    def case_updated(self, event: dict[str, Any]) -> None:
        close_old_connections()
        self._refresh()

    def case_viewer(self, event: dict[str, Any]) -> None:
        # An agent's page on this conversation's case: only their typing is the customer's
        # business (not who else looks).
        if event.get("state") == "typing":
            self._send({"type": "typing", "who": "agent"})

    def customer_typing(self, event: dict[str, Any]) -> None:
        """This socket's own typing, heard back on the case group."""

    def _refresh(self) -> None:
        """Send what the page has not seen, and the state if it changed. Joins the groups of
        the conversation (and its open case) once they exist."""
        assert self.session is not None
        conversation = self.conversation or widget_conversation(session=self.session)
        if conversation is not None:
            conversation.refresh_from_db(fields=["owner", "status", "last_seq"])
            self.conversation = conversation
        state = widget_state(conversation=conversation)
        wanted = set()
        if conversation is not None:
            wanted = {
                widget_conversation_group(conversation.pk),
                conversation_group(conversation.pk),
            }
        if state.case_id is not None:
            wanted.add(case_group(state.case_id))
        for group in wanted - self.groups_joined:
            async_to_sync(self.channel_layer.group_add)(group, self.channel_name)
        for group in self.groups_joined - wanted:
            async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)
        self.groups_joined = wanted
        if conversation is not None:
            # Joined first, read second: a change between the two is read now or pushed.
            # Writers in this process take seqs without the conversation's lock, so an event
            # may commit below the cursor: once this socket has shown something, read back a
            # margin, and the ids it has shown drop the repeats. A resume reads from its seq.
            after = max(self.cursor - RESEQ_MARGIN, 0) if self.shown else self.cursor
            for wire in widget_events(conversation=conversation, after_seq=after):
                if wire["id"] in self.shown:
                    continue
                self.shown.add(wire["id"])
                self.cursor = max(self.cursor, wire["seq"])
                self._send(wire)
        self.case_id = state.case_id
        wire_state = state.wire()
        if wire_state != self.last_state:
            self._send(wire_state)
            self.last_state = wire_state
            if state.estimate is not None:
                # Every estimate shown is logged, to be held against the actual wait.
                wait_estimate_log(estimate=state.estimate)

    def _send(self, frame: dict[str, Any]) -> None:
        self.send(text_data=json.dumps(frame))


def _client_id(frame: dict[str, Any]) -> str:
    client_id = frame.get("id")
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise FrameError("invalid_frame", "id: 1 to 64 letters, digits, - or _.")
    return client_id


def _email(frame: dict[str, Any], client_id: str | None) -> str:
    email = frame.get("email")
    try:
        if not isinstance(email, str) or len(email) > 254:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise FrameError(
            "invalid_frame", "email: that isn't an email address.", client_id
        ) from None
    return email


FRAME_HANDLERS = {
    "message": WidgetConsumer._message,
    "feedback": WidgetConsumer._feedback,
    "end": WidgetConsumer._end,
    "typing": WidgetConsumer._typing,
    "email_reply": WidgetConsumer._email_reply,
    "transcript": WidgetConsumer._transcript,
}
