"""The widget socket: authorisation, resume after a drop, bad frames, typing."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.core import signing

from config.asgi import application
from conversations.events import case_group
from conversations.models import Conversation, Event
from escalation.models import Case
from tests.factories import CaseFactory
from tests.widget.conftest import aagent_says, aai_says, new_session
from widget.tokens import CONVERSATION_SALT, WidgetSession, conversation_token

pytestmark = pytest.mark.django_db(transaction=True)


def stored(conversation: str) -> list[Event]:
    """The customer's messages on the record (the assistant answers in between)."""
    return list(
        Event.objects.filter(
            conversation__external_id=conversation, type="message", role="customer"
        ).order_by("seq", "id")
    )


astored = database_sync_to_async(stored)


async def test_a_message_is_acked_shown_and_stored_once(open_widget: Any) -> None:
    token, session = new_session()
    widget = await open_widget(token)
    assert (await widget.until("ready"))["conversation"] == session.conversation
    await widget.send({"type": "message", "id": "m1", "text": "Where is my order?"})
    ack = await widget.until("ack")
    assert ack["id"] == "m1" and ack["status"] == "stored"
    echo = await widget.until("event")
    assert echo["client_id"] == "m1" and echo["role"] == "customer"
    # The page lost the ack and sends it again: nothing is stored twice.
    await widget.send({"type": "message", "id": "m1", "text": "Where is my order?"})
    assert (await widget.until("ack"))["status"] == "duplicate"
    rows = await astored(session.conversation)
    assert [e.text for e in rows] == ["Where is my order?"]


async def test_token_a_never_reaches_conversation_b(open_widget: Any) -> None:
    token_a, a = new_session()
    token_b, b = new_session()
    await aai_says(a, "Hello A", "ai-a-1")
    await aai_says(b, "Secret of B", "ai-b-1")
    widget = await open_widget(token_a)
    await widget.until("ready")
    frames = await widget.drain()
    assert [f["text"] for f in frames if f["type"] == "event"] == ["Hello A"]
    # B's new messages are pushed to B's groups only.
    await aagent_says(b, "More of B")
    await aai_says(a, "More of A", "ai-a-2")
    frames = await widget.drain()
    texts = [f["text"] for f in frames if f["type"] == "event"]
    assert texts == ["More of A"]
    # A token of another purpose, a forged one and a tampered one open nothing.
    forged = [
        signing.dumps({"c": b.conversation}),  # Django's default salt, not the widget's
        signing.dumps({"c": b.conversation}, salt=CONVERSATION_SALT, key="not-our-key"),
        token_a[:-2] + ("xx" if not token_a.endswith("xx") else "yy"),
        "",
        None,
    ]
    for token in forged:
        other = await open_widget(token)
        error = await other.until("error")
        assert error["code"] == "unauthorised"
        assert (await other.communicator.receive_output(timeout=2))["type"] == "websocket.close"
    # A socket that said hello for A cannot switch to B.
    await widget.send({"type": "hello", "token": token_b, "after": 0})
    assert (await widget.until("error"))["code"] == "unauthorised"


async def test_nothing_before_hello(open_widget: Any) -> None:
    widget = await open_widget(None, hello=False)
    await widget.send({"type": "message", "id": "m1", "text": "hi"})
    assert (await widget.until("error"))["code"] == "unauthorised"
    assert (await widget.communicator.receive_output(timeout=2))["code"] == 4401


async def test_a_foreign_origin_is_refused() -> None:
    communicator = WebsocketCommunicator(
        application,
        "/ws/widget/",
        headers=[(b"host", b"testserver"), (b"origin", b"https://evil.example")],
    )
    connected, _ = await communicator.connect()
    assert not connected


async def test_resume_after_a_drop_loses_nothing(open_widget: Any) -> None:
    token, session = new_session()
    widget = await open_widget(token)
    await widget.until("ready")
    await widget.send({"type": "message", "id": "m1", "text": "Where is my order?"})
    await widget.until("ack")
    seen = await widget.until("event", role="ai")  # the assistant's answer
    await widget.close()
    # While the page is away, a person writes (and the record may grow otherwise).
    await aagent_says(session, "Hi, I'm Maya")
    again = await open_widget(token, after=seen["seq"])
    await again.until("ready")
    frames = [f for f in await again.drain() if f["type"] == "event"]
    record = await database_sync_to_async(visible_from)(session.conversation, seen["seq"])
    # From the last seen seq on (the page drops the one it shows): nothing missed, each once.
    assert [f["id"] for f in frames] == record
    assert seen["id"] in record and frames[-1]["text"] == "Hi, I'm Maya"
    assert frames[-1]["author"] == "Maya"
    assert len(set(record)) == len(record)


def visible_from(conversation: str, seq: int) -> list[str]:
    return list(
        Event.objects.filter(
            conversation__external_id=conversation,
            seq__gte=seq,
            type__in=["message", "handoff", "close"],
        )
        .order_by("seq", "id")
        .values_list("event_id", flat=True)
    )


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"type": "launch"}', "invalid_frame"),
        ('{"type": "message", "id": "m2"}', "invalid_frame"),
        ('{"type": "message", "id": "m2", "text": "   "}', "invalid_frame"),
        ('{"type": "message", "id": "../../x", "text": "hi"}', "invalid_frame"),
        ('{"type": "message", "id": "m2", "text": "' + "x" * 5000 + '"}', "too_large"),
        ('{"type": "message", "id": "m2", "text": "' + "x" * 40000 + '"}', "too_large"),
        ('{"type": "feedback", "part": "ai", "rating": 6}', "invalid_frame"),
        ('{"type": "feedback", "part": "ai", "rating": true}', "invalid_frame"),
        ('{"type": "transcript", "email": "not-an-address"}', "invalid_frame"),
        ('{"type": "hello", "token": "T", "after": -1}', "invalid_frame"),
    ],
)
async def test_bad_frames_get_a_clear_error_and_store_nothing(
    open_widget: Any, frame: str, code: str
) -> None:
    token, session = new_session()
    widget = await open_widget(token)
    await widget.until("ready")
    await widget.send({"type": "message", "id": "m1", "text": "One"})
    await widget.until("ack")
    await widget.send(frame.replace('"T"', f'"{token}"'))
    error = await widget.until("error")
    assert error["code"] == code and error["detail"]
    # The socket goes on: the next good frame is taken.
    await widget.send({"type": "message", "id": "m3", "text": "Two"})
    assert (await widget.until("ack"))["id"] == "m3"
    assert [e.text for e in await astored(session.conversation)] == ["One", "Two"]


def case_of(external_id: str) -> Case:
    """The conversation's case: the one the engine opened on "a person please", or one as
    it opens them."""
    conversation = Conversation.objects.get(external_id=external_id)
    return conversation.cases.first() or CaseFactory(conversation=conversation)


async def test_typing_both_ways(open_widget: Any) -> None:
    token, session = new_session()
    widget = await open_widget(token)
    await widget.until("ready")
    await widget.send({"type": "message", "id": "m1", "text": "A person please"})
    await widget.until("ack")
    case = await database_sync_to_async(case_of)(session.conversation)
    await aagent_says(session, "Hello")  # any push: the widget joins the case's group now
    await widget.until("event", text="Hello")
    await widget.drain()
    layer = get_channel_layer()
    listener = await layer.new_channel()
    await layer.group_add(case_group(case.pk), listener)
    await layer.group_send(
        case_group(case.pk),
        {
            "type": "case.viewer",
            "case_id": case.pk,
            "channel": "x",
            "user_id": 1,
            "name": "Maya",
            "state": "typing",
        },
    )
    assert (await widget.until("typing"))["who"] == "agent"
    await widget.send({"type": "typing"})
    heard = await layer.receive(listener)
    while heard["type"] != "customer.typing":
        heard = await layer.receive(listener)
    assert heard == {"type": "customer.typing", "case_id": case.pk}


def test_tokens_name_their_conversation() -> None:
    session = WidgetSession(conversation="w-abc", customer={"email": "a@example.com"})
    from widget.tokens import conversation_token_read

    assert conversation_token_read(conversation_token(session=session)) == session


async def test_the_queue_position_is_shown_without_an_invented_wait(open_widget: Any) -> None:
    from escalation.models import WaitEstimateLog

    token, session = new_session()
    widget = await open_widget(token)
    await widget.until("ready")
    await widget.send({"type": "message", "id": "m1", "text": "I want to talk to a person"})
    await widget.until("ack")
    while True:
        state = await widget.until("state")
        if state["queue"] is not None:
            break
    assert state["waiting"] and state["owner"] == "human"
    # No agent finished a case here: a position, no minutes.
    assert state["queue"] == {"position": 1, "next_available": False}
    assert await WaitEstimateLog.objects.filter(
        case__conversation__external_id=session.conversation
    ).aexists()


def _hand_back(external_id: str) -> None:
    from django.contrib.auth import get_user_model

    from escalation.cases.lifecycle import case_resolve
    from escalation.cases.routing import case_pick
    from escalation.models import AgentProfile

    user = get_user_model().objects.create_user(username="maya", first_name="Maya")
    AgentProfile.objects.create(user=user, role=AgentProfile.Role.AGENT, presence="online")
    case = Case.objects.get(conversation__external_id=external_id)
    case_pick(case_id=case.pk, user=user)
    case_resolve(case_id=case.pk, user=user, outcome=Case.Outcome.HANDED_BACK)


async def test_a_hand_back_is_announced_to_the_customer_and_kept_on_reload(
    open_widget: Any,
) -> None:
    token, session = new_session()
    widget = await open_widget(token)
    await widget.until("ready")
    await widget.send({"type": "message", "id": "m1", "text": "I want to talk to a person"})
    await widget.until("ack")
    while not await Case.objects.filter(
        conversation__external_id=session.conversation, status="queued"
    ).aexists():
        await widget.receive()
    await database_sync_to_async(_hand_back)(session.conversation)
    line = await widget.until(
        "event", role="system", id=await database_sync_to_async(next_handback_id)(session)
    )
    assert line["text"].startswith("Maya handed you back to our assistant.")
    state = await widget.until("state", owner="ai")
    assert not state["ended"] and state["survey"] == []
    # A reload (a new socket from seq 0) shows it once, after the handoff line.
    again = await open_widget(token)
    await again.until("ready")
    await again.drain()
    texts = [e["text"] for e in again.events() if e["role"] == "system"]
    assert texts[-1].startswith("Maya handed you back")
    assert sum(t.startswith("Maya handed you back") for t in texts) == 1


def next_handback_id(session: WidgetSession) -> str:
    case = Case.objects.get(conversation__external_id=session.conversation)
    return f"handback-{case.pk}"
