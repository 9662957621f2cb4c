"""The end of a chat: the two-part survey (feedback events), the transcript by email, the
email reply when no one is online; and the /chat/ page with the shop's customer token."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from conversations.models import Conversation, Event
from tests.widget.conftest import aagent_says, new_session
from widget.tokens import conversation_token_read, customer_token_sign

pytestmark = pytest.mark.django_db(transaction=True)


def feedback(conversation: str) -> list[dict[str, Any]]:
    return [
        e.payload
        for e in Event.objects.filter(
            conversation__external_id=conversation, type=Event.Type.FEEDBACK
        ).order_by("seq", "id")
    ]


afeedback = database_sync_to_async(feedback)


async def test_the_survey_asks_each_part_once_and_stores_feedback(open_widget: Any) -> None:
    token, session = new_session()
    widget = await open_widget(token)
    await widget.until("ready")
    await widget.send({"type": "message", "id": "m1", "text": "My boots fell apart"})
    await widget.until("ack")
    await widget.until("event", role="ai")  # the assistant answers
    await aagent_says(session, "Hi, I'm Leo. Refunded.", author="Leo")
    await widget.until("event", text="Hi, I'm Leo. Refunded.")
    await widget.drain()
    # Not before the end.
    assert all(f["survey"] == [] for f in widget.frames if f["type"] == "state")
    await widget.send({"type": "end"})
    await widget.until("ack", id="close")
    state = await widget.until("state", ended=True)
    assert state["closed"] and state["survey"] == [
        {"part": "ai", "question": "Did the assistant help?"},
        {"part": "human", "question": "Did Leo help?"},
    ]
    await widget.send({"type": "feedback", "part": "ai", "rating": 3})
    assert (await widget.until("ack", id="feedback-ai"))["status"] == "stored"
    state = await widget.until("state")
    assert [p["part"] for p in state["survey"]] == ["human"]
    # Asked once: a second answer for the part changes nothing.
    await widget.send({"type": "feedback", "part": "ai", "rating": 5})
    assert (await widget.until("ack", id="feedback-ai"))["status"] == "duplicate"
    await widget.send({"type": "feedback", "part": "human", "rating": 5, "comment": "Quick!"})
    await widget.until("ack", id="feedback-human")
    assert (await widget.until("state"))["survey"] == []
    rows = await afeedback(session.conversation)
    assert [(r["part"], r["rating"], r.get("comment")) for r in rows] == [
        ("ai", 3, None),
        ("human", 5, "Quick!"),
    ]
    # A closed conversation takes no more messages, and says so.
    await widget.send({"type": "message", "id": "m9", "text": "Hello?"})
    assert (await widget.until("error", id="m9"))["code"] == "conversation_closed"


async def test_an_ai_only_chat_asks_about_the_assistant_only(open_widget: Any) -> None:
    token, _ = new_session()
    widget = await open_widget(token)
    await widget.until("ready")
    await widget.send({"type": "message", "id": "m1", "text": "Where is order 12?"})
    await widget.until("ack")
    await widget.until("event", role="ai")  # the assistant asks who they are
    await widget.send({"type": "end"})
    state = await widget.until("state", ended=True)
    assert [p["part"] for p in state["survey"]] == ["ai"]


async def test_the_transcript_by_email(open_widget: Any) -> None:
    token, _ = new_session()
    widget = await open_widget(token)
    await widget.until("ready")
    await widget.send({"type": "transcript", "email": "dana@example.com"})
    assert (await widget.until("error"))["code"] == "transcript_refused"  # nothing yet
    await widget.send({"type": "message", "id": "m1", "text": "Where is my parcel?"})
    await widget.until("ack")
    reply = await widget.until("event", role="ai")
    await widget.send({"type": "transcript", "email": "dana@example.com"})
    notice = await widget.until("notice")
    assert "dana@example.com" in notice["detail"]
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["dana@example.com"]
    assert "You: Where is my parcel?" in sent.body and f"Assistant: {reply['text']}" in sent.body


async def test_a_mail_server_failure_is_told_and_the_chat_goes_on(
    open_widget: Any, monkeypatch: Any
) -> None:
    def broken(**_: Any) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr("widget.services.send_mail", broken)
    token, _ = new_session()
    widget = await open_widget(token)
    await widget.until("ready")
    await widget.send({"type": "message", "id": "m1", "text": "Where is my parcel?"})
    await widget.until("event", role="ai")
    await widget.send({"type": "transcript", "email": "dana@example.com"})
    assert (await widget.until("error"))["code"] == "transcript_refused"
    await widget.send({"type": "message", "id": "m2", "text": "Still there?"})
    assert (await widget.until("ack", id="m2"))["status"] == "stored"


async def test_no_one_online_offers_an_email_reply(open_widget: Any) -> None:
    token, session = new_session()
    widget = await open_widget(token)
    await widget.until("ready")
    state = await widget.until("state")
    assert state["agents_online"] is False
    await widget.send({"type": "email_reply", "id": "e1", "email": "dana@example.com"})
    await widget.until("ack", id="e1")
    conversation = await Conversation.objects.select_related("customer").aget(
        external_id=session.conversation
    )
    assert conversation.customer.email == "dana@example.com"
    message = await Event.objects.filter(conversation=conversation, role="customer").aget()
    assert "reply to me by email at dana@example.com" in message.text


def test_the_chat_page_carries_a_token_and_the_consent(settings: Any) -> None:
    settings.BATON_WIDGET_CONSENT = "Chats are kept for 30 days."
    settings.BATON_WIDGET_ALLOWED_ORIGINS = ["https://shop.example"]
    response = Client().get("/chat/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Chats are kept for 30 days." in html
    assert 'role="log"' in html and 'aria-relevant="additions"' in html
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://shop.example" in csp
    assert "X-Frame-Options" not in response.headers
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    token = html.split('data-token="')[1].split('"')[0]
    session = conversation_token_read(token)
    assert session is not None and session.customer == {}


def test_the_page_names_its_customer_without_saying_who(settings: Any) -> None:
    settings.BATON_WIDGET_SHOP_SECRET = "shop-secret"

    def who(query: dict[str, str]) -> str:
        html = Client().get("/chat/", query).content.decode()
        return html.split('data-customer="')[1].split('"')[0]

    ada = customer_token_sign(customer={"email": "ada@example.com"}, secret="shop-secret")
    bo = customer_token_sign(customer={"email": "bo@example.com"}, secret="shop-secret")
    assert who({}) == "anonymous"
    assert who({"customer": ada}) == who({"customer": ada}) != who({"customer": bo})
    assert "ada" not in who({"customer": ada})
    # A MAC that is not ASCII is a bad token, not a server error.
    assert who({"customer": "abc.\u00e9"}) == "anonymous"


def test_the_shops_signed_customer_token(settings: Any) -> None:
    settings.BATON_WIDGET_SHOP_SECRET = "shop-secret"
    signed = customer_token_sign(
        customer={"external_id": "c-7", "email": "dana@example.com", "name": "Dana"},
        secret="shop-secret",
    )
    html = Client().get("/chat/", {"customer": signed}).content.decode()
    session = conversation_token_read(html.split('data-token="')[1].split('"')[0])
    assert session is not None
    assert session.customer == {"external_id": "c-7", "email": "dana@example.com", "name": "Dana"}
    for bad in (
        customer_token_sign(customer={"email": "x@example.com"}, secret="other"),
        customer_token_sign(customer={"email": "x@example.com"}, secret="shop-secret", ttl=-5),
        signed[:-1] + ("0" if signed[-1] != "0" else "1"),
        "garbage",
    ):
        html = Client().get("/chat/", {"customer": bad}).content.decode()
        session = conversation_token_read(html.split('data-token="')[1].split('"')[0])
        assert session is not None and session.customer == {}


async def test_a_verified_customer_is_on_the_record(open_widget: Any) -> None:
    token, session = new_session(external_id="c-7", email="dana@example.com", name="Dana")
    widget = await open_widget(token)
    await widget.until("ready")
    await widget.send({"type": "message", "id": "m1", "text": "Hi"})
    await widget.until("ack")
    conversation = await Conversation.objects.select_related("customer").aget(
        external_id=session.conversation
    )
    assert (conversation.customer.external_id, conversation.customer.email) == (
        "c-7",
        "dana@example.com",
    )


async def test_a_case_resolved_at_the_desk_ends_the_chat_and_asks_both_parts(
    open_widget: Any,
) -> None:
    from escalation.cases.lifecycle import case_resolve
    from escalation.cases.routing import case_pick
    from escalation.cases.work import case_reply
    from tests.factories import agent_user

    token, session = new_session()
    widget = await open_widget(token)
    await widget.until("ready")
    await widget.send({"type": "message", "id": "m1", "text": "I want to talk to a person"})
    await widget.until("ack")
    state = await widget.until("state", waiting=True)
    assert state["survey"] == []

    def work_the_case() -> None:
        leo = get_user_model().objects.get(username="leo")
        case = Conversation.objects.get(external_id=session.conversation).cases.get()
        case_reply(case_id=case.pk, user=leo, text="Sorted: your refund is on its way.")
        case_resolve(case_id=case.pk, user=leo, outcome="resolved")

    def take_the_case() -> None:
        leo = agent_user(username="leo")
        leo.first_name = "Leo"
        leo.save()
        case = Conversation.objects.get(external_id=session.conversation).cases.get()
        case_pick(case_id=case.pk, user=leo)

    await database_sync_to_async(take_the_case)()
    # The customer sees who joined (in the polite live region the page shows it in).
    state = await widget.until("state", waiting=False)
    assert state["agent"] == "Leo" and state["queue"] is None
    await database_sync_to_async(work_the_case)()
    await widget.until("event", role="agent")
    state = await widget.until("state", ended=True)
    assert not state["closed"]  # the chat goes on if the customer writes again
    assert [p["part"] for p in state["survey"]] == ["ai", "human"]
    assert state["survey"][1]["question"].startswith("Did Leo")
