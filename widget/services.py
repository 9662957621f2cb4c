"""The widget's writes. The customer's messages, ratings and the end of a chat are protocol
events of the widget's Integration (assistant.services.widget_integration), stored through
conversations.services.events_ingest exactly as an external platform stores them; messages
go through assistant.services.customer_message."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from assistant.services import customer_message, widget_integration
from conversations.models import Conversation
from conversations.ratelimit import rate_limit_take
from conversations.schemas import ErrorCode, ErrorOut
from conversations.services import IngestResult, events_ingest
from widget.selectors import widget_conversation, widget_transcript_text
from widget.tokens import WidgetSession

logger = logging.getLogger(__name__)

# A customer types; a flood is somebody else: at most 10 messages in a burst, 1 a second after.
MESSAGE_RATE = 1.0
MESSAGE_BURST = 10


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _next_seq(session: WidgetSession) -> int:
    conversation = widget_conversation(session=session)
    return (conversation.last_seq if conversation is not None else 0) + 1


def widget_event_id(*, session: WidgetSession, client_id: str) -> str:
    """The stored event's id: the client's id within its conversation, so a frame sent again
    after a reconnect is acked as a duplicate and stored once."""
    return f"{session.conversation}.{client_id}"


def _ingest(*, session: WidgetSession, event: dict[str, Any]) -> IngestResult:
    event = {"conversation": session.conversation, "seq": _next_seq(session), "at": _now()} | event
    if session.customer:
        event["customer"] = session.customer
    return events_ingest(integration=widget_integration(), raw_events=[event])[0]


def widget_message_send(*, session: WidgetSession, client_id: str, text: str) -> IngestResult:
    """Store the customer's message through the assistant's door (it answers from its
    events_stored receiver while the AI owns the conversation)."""
    event_id = widget_event_id(session=session, client_id=client_id)
    granted = rate_limit_take(
        key=f"widget:{session.conversation}", want=1, rate=MESSAGE_RATE, burst=MESSAGE_BURST
    )
    if not granted:
        return ErrorOut(
            id=event_id,
            code=ErrorCode.RATE_LIMITED,
            detail="You are sending messages faster than we can take them; wait a moment.",
        )
    return customer_message(
        conversation_external_id=session.conversation,
        text=text,
        customer=session.customer or None,
        event_id=event_id,
        seq=_next_seq(session),
    )


def widget_feedback_send(
    *, session: WidgetSession, part: str, rating: int, comment: str = ""
) -> IngestResult:
    """The survey's answer for one part. Its id is fixed per part: a part is rated once."""
    event: dict[str, Any] = {
        "type": "feedback",
        "id": widget_event_id(session=session, client_id=f"feedback-{part}"),
        "part": part,
        "rating": rating,
    }
    if comment:
        event["comment"] = comment
    return _ingest(session=session, event=event)


def widget_end(*, session: WidgetSession) -> IngestResult:
    """The customer ended the chat: a `close` event (the survey follows)."""
    return _ingest(
        session=session,
        event={
            "type": "close",
            "id": widget_event_id(session=session, client_id="close"),
            "outcome": "resolved",
        },
    )


def widget_email_reply_request(
    *, session: WidgetSession, client_id: str, email: str
) -> IngestResult:
    """No one is online: the customer leaves an address for a reply. It goes on the record
    as their message and on their customer reference, so the agent who takes the case sees
    where to write."""
    session = WidgetSession(
        conversation=session.conversation, customer={**session.customer, "email": email}
    )
    return widget_message_send(
        session=session,
        client_id=client_id,
        text=f"No one was online: please reply to me by email at {email}.",
    )


def widget_transcript_mail(*, session: WidgetSession, email: str) -> bool:
    """Mail the conversation so far to `email`. False when the conversation has nothing to
    send or has had its BATON_WIDGET_TRANSCRIPTS already."""
    conversation: Conversation | None = widget_conversation(session=session)
    if conversation is None:
        return False
    granted = rate_limit_take(
        key=f"widget-mail:{session.conversation}",
        want=1,
        rate=1 / 3600,
        burst=settings.BATON_WIDGET_TRANSCRIPTS,
    )
    # Anyone can open conversations: all of them together mail at most this many an hour.
    granted = granted and rate_limit_take(
        key="widget-mail",
        want=1,
        rate=settings.BATON_WIDGET_TRANSCRIPTS_PER_HOUR / 3600,
        burst=settings.BATON_WIDGET_TRANSCRIPTS_PER_HOUR,
    )
    if not granted:
        return False
    try:
        send_mail(
            subject="Your conversation with our support team",
            message=widget_transcript_text(conversation=conversation),
            from_email=None,
            recipient_list=[email],
        )
    except Exception:
        # A mail server that fails must not take the chat down with it: the customer is told
        # it was not sent and may ask again.
        logger.exception("transcript mail to conversation %s failed", conversation.pk)
        return False
    return True
