"""Ingest over both transports: the socket and the HTTP fallback give the same answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator

from config.asgi import application
from conversations.models import Conversation, Event, Integration
from conversations.services import integration_create, integration_revoke
from escalation.models import Case
from tests.conftest import event

pytestmark = pytest.mark.django_db(transaction=True)


def _headers(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


async def socket_for(token: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/ingest/v1/", headers=_headers(token))
    connected, _ = await communicator.connect()
    assert connected
    return communicator


class SocketTransport:
    name = "socket"

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator

    async def send(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        frame = events[0] if len(events) == 1 else events
        await self.communicator.send_to(text_data=json.dumps(frame))
        return [await self.receive() for _ in events]

    async def receive(self) -> dict[str, Any]:
        return json.loads(await self.communicator.receive_from(timeout=5))


class HttpTransport:
    name = "http"

    def __init__(self, token: str) -> None:
        self.token = token

    async def send(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = await http(self.token, "POST", "/api/v1/events", {"events": events})
        assert response["status"] == 200, response
        return json.loads(response["body"])["results"]


async def http(token: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    headers = [*_headers(token), (b"content-type", b"application/json")]
    communicator = HttpCommunicator(
        application,
        method,
        path,
        body=json.dumps(body).encode() if body is not None else b"",
        headers=headers,
    )
    return await communicator.get_response(timeout=5)


@pytest.fixture
async def token() -> str:
    _, issued = await database_sync_to_async(integration_create)(name="acme-bot")
    return issued


@pytest.fixture(params=["socket", "http"])
async def transport(request: pytest.FixtureRequest, token: str) -> AsyncIterator[Any]:
    if request.param == "http":
        yield HttpTransport(token)
        return
    communicator = await socket_for(token)
    try:
        yield SocketTransport(communicator)
    finally:
        await communicator.disconnect()


@database_sync_to_async
def stored_seqs(conversation: str) -> list[int]:
    return list(
        Event.objects.filter(conversation__external_id=conversation)
        .order_by("seq", "id")
        .values_list("seq", flat=True)
    )


# Authentication


@pytest.mark.parametrize(
    "headers", [[], [(b"authorization", b"Bearer nope")], [(b"authorization", b"Basic abc")]]
)
async def test_the_upgrade_is_refused_without_a_valid_token(headers: list) -> None:
    communicator = WebsocketCommunicator(application, "/ws/ingest/v1/", headers=headers)
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_revoked_token_is_refused(token: str) -> None:
    integration = await Integration.objects.aget(name="acme-bot")
    await database_sync_to_async(integration_revoke)(integration=integration)
    communicator = WebsocketCommunicator(application, "/ws/ingest/v1/", headers=_headers(token))
    connected, _ = await communicator.connect()
    assert not connected


async def test_revoking_closes_open_sockets(token: str) -> None:
    communicator = await socket_for(token)
    integration = await Integration.objects.aget(name="acme-bot")
    await database_sync_to_async(integration_revoke)(integration=integration)
    output = await communicator.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": 4403}


async def test_http_needs_the_token_too() -> None:
    response = await http("wrong", "POST", "/api/v1/events", {"events": [event("e1", "c1", 1)]})
    assert response["status"] == 401
    assert await Event.objects.acount() == 0


# Storage guarantees, over both transports


async def test_an_event_is_acked_only_once_it_is_committed(transport: Any) -> None:
    [ack] = await transport.send([event("e1", "c1", 1)])
    assert ack == {"type": "ack", "id": "e1", "status": "stored"}
    # Read on another connection: the acked event is already durable.
    assert await stored_seqs("c1") == [1]


async def test_a_resend_is_acked_as_duplicate_and_stored_once(transport: Any) -> None:
    await transport.send([event("e1", "c1", 1)])
    [again] = await transport.send([event("e1", "c1", 1)])
    assert again == {"type": "ack", "id": "e1", "status": "duplicate"}
    assert await Event.objects.acount() == 1


async def test_a_batch_is_answered_in_order(transport: Any) -> None:
    events = [event(f"e{n}", "c1", n) for n in range(1, 6)]
    events.insert(2, event("e1", "c1", 1))
    results = await transport.send(events)
    assert [(r["id"], r["status"]) for r in results] == [
        ("e1", "stored"),
        ("e2", "stored"),
        ("e1", "duplicate"),
        ("e3", "stored"),
        ("e4", "stored"),
        ("e5", "stored"),
    ]


async def test_out_of_order_events_are_stored_and_read_in_seq_order(
    transport: Any, token: str
) -> None:
    for seq in [3, 1, 5, 2, 4]:
        await transport.send([event(f"e{seq}", "c1", seq)])
    assert await stored_seqs("c1") == [1, 2, 3, 4, 5]
    response = await http(token, "GET", "/api/v1/conversations/c1")
    body = json.loads(response["body"])
    assert [e["seq"] for e in body["events"]] == [1, 2, 3, 4, 5]
    assert body["owner"] == "ai"
    assert body["status"] == "open"


async def test_a_bad_event_in_a_batch_does_not_sink_the_others(transport: Any) -> None:
    bad = event("e2", "c1", 2, role="robot")
    unknown = event("e3", "c1", 3, type="poke")
    results = await transport.send([event("e1", "c1", 1), bad, unknown, event("e4", "c1", 4)])
    assert [r.get("status") or r.get("code") for r in results] == [
        "stored",
        "invalid_event",
        "unknown_type",
        "stored",
    ]
    assert results[1]["id"] == "e2"
    assert "role" in results[1]["detail"]
    assert await stored_seqs("c1") == [1, 4]


async def test_text_over_the_limit_is_refused_as_too_large(transport: Any) -> None:
    [result] = await transport.send([event("e1", "c1", 1, text="x" * 16_001)])
    assert result["code"] == "too_large"
    assert result["id"] == "e1"


async def test_events_after_close_are_refused_but_late_ones_fill_in(transport: Any) -> None:
    close = event("e3", "c1", 3, type="close", outcome="resolved")
    results = await transport.send([event("e1", "c1", 1), close])
    assert [r["status"] for r in results] == ["stored", "stored"]
    [after] = await transport.send([event("e4", "c1", 4)])
    assert after["code"] == "conversation_closed"
    [late] = await transport.send([event("e2", "c1", 2)])
    assert late["status"] == "stored"
    assert await stored_seqs("c1") == [1, 2, 3]


async def test_feedback_is_taken_after_the_close_and_validated(transport: Any) -> None:
    close = event("e2", "c1", 2, type="close", outcome="resolved")
    await transport.send([event("e1", "c1", 1), close])
    rating = event("e3", "c1", 3, type="feedback", rating=4, part="human", comment="Quick.")
    [stored] = await transport.send([rating])
    assert stored["status"] == "stored"
    bad = [
        event("e4", "c1", 4, type="feedback", rating=6),
        event("e5", "c1", 5, type="feedback", rating="4"),
        event("e6", "c1", 6, type="feedback", rating=3, part="bot"),
    ]
    assert [r["code"] for r in await transport.send(bad)] == ["invalid_event"] * 3
    [after] = await transport.send([event("e7", "c1", 7)])
    assert after["code"] == "conversation_closed"
    assert await stored_seqs("c1") == [1, 2, 3]
    # Feedback after the close does not change who the closed conversation was with.
    relink = event("e8", "c1", 8, type="feedback", rating=5, customer={"email": "x@example.com"})
    [stored] = await transport.send([relink])
    assert stored["status"] == "stored"
    conversation = await Conversation.objects.select_related("customer").aget(external_id="c1")
    assert conversation.customer is None or conversation.customer.email != "x@example.com"


async def test_the_rate_limit_answers_rate_limited(transport: Any, settings: Any) -> None:
    settings.BATON_INGEST_RATE = 0.001
    settings.BATON_INGEST_BURST = 3
    results = await transport.send([event(f"e{n}", "c1", n) for n in range(1, 6)])
    assert [r.get("status") or r.get("code") for r in results] == [
        "stored",
        "stored",
        "stored",
        "rate_limited",
        "rate_limited",
    ]
    assert results[3]["id"] == "e4"


async def test_the_customer_object_links_the_conversation(transport: Any) -> None:
    customer = {"external_id": "u-7", "email": "noah@example.com", "name": "Noah Brown"}
    await transport.send([event("e1", "c1", 1, customer=customer)])
    conversation = await Conversation.objects.select_related("customer").aget(external_id="c1")
    assert conversation.customer.email == "noah@example.com"
    assert conversation.customer.external_id == "u-7"


# Socket-only framing


async def test_invalid_json_is_an_error_and_the_socket_stays_open(token: str) -> None:
    communicator = await socket_for(token)
    transport = SocketTransport(communicator)
    await communicator.send_to(text_data="{not json")
    error = await transport.receive()
    assert error["type"] == "error"
    assert error["code"] == "invalid_json"
    assert error["id"] is None
    [ack] = await transport.send([event("e1", "c1", 1)])
    assert ack["status"] == "stored"
    await communicator.disconnect()


async def test_an_oversized_frame_is_refused_and_the_socket_stays_open(token: str) -> None:
    communicator = await socket_for(token)
    transport = SocketTransport(communicator)
    # Each text is within its own limit; together they are over the 64 KiB frame limit.
    batch = [event(f"e{n}", "c1", n, text="y" * 15_000) for n in range(1, 6)]
    await communicator.send_to(text_data=json.dumps(batch))
    error = await transport.receive()
    assert error["code"] == "too_large"
    assert await Event.objects.acount() == 0
    [ack] = await transport.send([event("e1", "c1", 1)])
    assert ack["status"] == "stored"
    await communicator.disconnect()


@pytest.mark.parametrize("frame", ["[]", "42", '"text"', "null"])
async def test_a_frame_that_is_not_events_is_an_invalid_event(token: str, frame: str) -> None:
    communicator = await socket_for(token)
    await communicator.send_to(text_data=frame)
    error = await SocketTransport(communicator).receive()
    assert error["code"] == "invalid_event"
    await communicator.disconnect()


# Handoff and control frames


async def test_a_handoff_queues_a_case_and_tells_every_socket_of_the_integration(
    token: str,
) -> None:
    first = await socket_for(token)
    second = await socket_for(token)
    _, other_token = await database_sync_to_async(integration_create)(name="other-bot")
    stranger = await socket_for(other_token)
    transport = SocketTransport(first)
    handoff = event(
        "e2", "c1", 2, type="handoff", reason="customer_request", note="asked for a person"
    )
    results = await transport.send([event("e1", "c1", 1), handoff])
    assert [r["status"] for r in results] == ["stored", "stored"]
    expected = {"type": "control", "conversation": "c1", "owner": "human", "by": "ai"}
    assert await transport.receive() == expected
    assert json.loads(await second.receive_from(timeout=5)) == expected
    assert await stranger.receive_nothing(timeout=0.3)
    case = await Case.objects.select_related("conversation").aget()
    assert case.status == "queued"
    assert case.reason == "customer_request"
    assert case.conversation.owner == "human"
    for communicator in (first, second, stranger):
        await communicator.disconnect()


async def test_a_second_handoff_does_not_open_a_second_case(token: str) -> None:
    communicator = await socket_for(token)
    transport = SocketTransport(communicator)
    await transport.send([event("e1", "c1", 1, type="handoff", reason="policy")])
    assert (await transport.receive())["type"] == "control"
    await transport.send([event("e2", "c1", 2, type="handoff", reason="policy")])
    assert await communicator.receive_nothing(timeout=0.3)
    assert await Case.objects.acount() == 1
    await communicator.disconnect()


# Read API


async def test_the_read_api_sees_only_its_own_integrations_conversations(token: str) -> None:
    await HttpTransport(token).send([event("e1", "c1", 1)])
    _, other_token = await database_sync_to_async(integration_create)(name="other-bot")
    response = await http(other_token, "GET", "/api/v1/conversations/c1")
    assert response["status"] == 404
    mine = await http(token, "GET", "/api/v1/conversations/c1")
    assert mine["status"] == 200
    [stored] = json.loads(mine["body"])["events"]
    assert stored == {
        "type": "message",
        "id": "e1",
        "conversation": "c1",
        "seq": 1,
        "at": "2026-11-27T10:00:00Z",
        "role": "customer",
        "text": "message 1 of c1",
    }


async def test_a_conversation_id_with_a_slash_can_be_read_back(token: str) -> None:
    await HttpTransport(token).send([event("e1", "shop/web/42", 1)])
    response = await http(token, "GET", "/api/v1/conversations/shop/web/42")
    assert response["status"] == 200
    assert json.loads(response["body"])["conversation"] == "shop/web/42"


async def test_a_handoff_after_close_opens_no_case(transport: Any) -> None:
    close = event("e2", "c1", 2, type="close", outcome="abandoned")
    handoff = event("e1", "c1", 1, type="handoff", reason="customer_request")
    results = await transport.send([close, handoff])
    assert [r["status"] for r in results] == ["stored", "stored"]
    assert await Case.objects.acount() == 0


async def test_http_refuses_a_batch_over_500(token: str) -> None:
    events = [event(f"e{n}", "c1", n) for n in range(1, 502)]
    response = await http(token, "POST", "/api/v1/events", {"events": events})
    assert response["status"] == 413
    assert await Event.objects.acount() == 0


async def test_the_openapi_schema_is_served() -> None:
    communicator = HttpCommunicator(application, "GET", "/api/v1/openapi.json")
    response = await communicator.get_response(timeout=5)
    assert response["status"] == 200
    paths = json.loads(response["body"])["paths"]
    assert "/api/v1/events" in paths
    assert "/api/v1/conversations/{conversation}" in paths


@pytest.mark.django_db
def test_an_ai_message_after_a_handoff_in_the_same_batch_is_refused() -> None:
    from conversations.services import events_ingest

    integration, _ = integration_create(name="batch-bot")
    results = events_ingest(
        integration=integration,
        raw_events=[
            event("h-1", "conv-h", 1),
            event("h-2", "conv-h", 2, type="handoff", role=None, text=None, reason="policy"),
            event("h-3", "conv-h", 3, role="ai", text="Anything else I can do?"),
            event("h-4", "conv-h", 4, text="Thanks, I'll wait."),
        ],
    )
    answers = [getattr(r, "status", None) or r.code for r in results]
    assert answers == ["stored", "stored", "not_owner", "stored"]
    assert not Event.objects.filter(event_id="h-3").exists()


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"text": "before\x00after"}, "NUL"),
        ({"text": "half a pair \ud800"}, "unpaired surrogate"),
        ({"type": "tool_call", "tool": "lookup", "args": {"note\x00": "x"}, "status": "ok"}, "NUL"),
        (
            {"type": "tool_call", "tool": "lookup", "args": {"deep": [["\udfff"]]}, "status": "ok"},
            "unpaired surrogate",
        ),
    ],
)
async def test_text_no_database_can_store_is_an_invalid_event_on_both_transports(
    transport: Any, fields: dict[str, Any], why: str
) -> None:
    bad = event("bad", "c-bad", 1, **fields)
    error, ack = await transport.send([bad, event("good", "c-bad", 2)])
    assert (error["code"], error["id"]) == ("invalid_event", "bad")
    assert why in error["detail"]
    assert ack["status"] == "stored"
    assert not await Event.objects.filter(event_id="bad").aexists()


async def test_nan_is_not_json_on_either_transport(token: str) -> None:
    frame = '{"type": "ai_signal", "id": "n1", "conversation": "c-nan", "seq": 1, '
    frame += '"at": "2026-11-27T10:00:00Z", "confidence": NaN}'
    communicator = await socket_for(token)
    await communicator.send_to(text_data=frame)
    error = json.loads(await communicator.receive_from(timeout=5))
    assert (error["code"], error["id"]) == ("invalid_json", None)
    await communicator.disconnect()

    headers = [*_headers(token), (b"content-type", b"application/json")]
    response = await HttpCommunicator(
        application,
        "POST",
        "/api/v1/events",
        body=b'{"events": [' + frame.encode() + b"]}",
        headers=headers,
    ).get_response(timeout=5)
    assert response["status"] == 400
    assert not await Event.objects.filter(event_id="n1").aexists()


async def test_a_frame_nested_too_deeply_is_refused_and_the_socket_stays_open(token: str) -> None:
    communicator = await socket_for(token)
    transport = SocketTransport(communicator)
    await communicator.send_to(text_data="[" * 20_000 + "]" * 20_000)
    error = await transport.receive()
    assert error["code"] == "invalid_json"
    [ack] = await transport.send([event("e1", "c1", 1)])
    assert ack["status"] == "stored"
    await communicator.disconnect()


@pytest.mark.parametrize("bad_type", [[], {}, 7, True])
async def test_a_type_that_is_not_a_string_is_an_invalid_event_and_the_batch_is_stored(
    transport: Any, bad_type: Any
) -> None:
    batch = [
        event("t1", "c-type", 1),
        event("t2", "c-type", 2),
        {"type": bad_type, "id": "t3", "conversation": "c-type", "seq": 3},
        event("t4", "c-type", 4),
    ]
    results = await transport.send(batch)
    assert [r.get("status") or r["code"] for r in results] == [
        "stored",
        "stored",
        "invalid_event",
        "stored",
    ]
    assert results[2]["id"] == "t3"
    # The client resends as the protocol says: the good ones are duplicates, nothing crashes.
    again = await transport.send(batch)
    assert [r.get("status") or r["code"] for r in again] == [
        "duplicate",
        "duplicate",
        "invalid_event",
        "duplicate",
    ]


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


async def test_args_nested_past_the_documented_depth_are_an_invalid_event(
    transport: Any,
) -> None:
    from conversations.schemas import MAX_EVENT_DEPTH

    # The event itself is one level, its args a second: args may nest MAX_EVENT_DEPTH - 1 deep.
    fits = event(
        "deep-ok",
        "c-deep",
        1,
        type="tool_call",
        tool="t",
        status="ok",
        args=_nested(MAX_EVENT_DEPTH - 1),
    )
    too_deep = event(
        "deep-no",
        "c-deep",
        2,
        type="tool_call",
        tool="t",
        status="ok",
        args=_nested(MAX_EVENT_DEPTH),
    )
    stored, refused = await transport.send([fits, too_deep])
    assert stored["status"] == "stored"
    assert (refused["code"], refused["id"]) == ("invalid_event", "deep-no")
    assert f"deeper than {MAX_EVENT_DEPTH}" in refused["detail"]
    far_too_deep = event(
        "deep-far", "c-deep", 3, type="tool_call", tool="t", status="ok", args=_nested(300)
    )
    [refused] = await transport.send([far_too_deep])
    assert refused["code"] == "invalid_event"


async def test_an_event_id_with_a_lone_surrogate_is_refused_without_naming_it(token: str) -> None:
    communicator = await socket_for(token)
    transport = SocketTransport(communicator)
    # json.dumps escapes the surrogate, as a client's encoder would: the frame is valid JSON.
    await communicator.send_to(text_data=json.dumps(event("x\ud800", "c-sur", 1)))
    error = await transport.receive()
    assert (error["code"], error["id"]) == ("invalid_event", None)
    [ack] = await transport.send([event("fine", "c-sur", 2)])
    assert ack["status"] == "stored"
    await communicator.disconnect()


async def test_a_frame_of_a_mebibyte_is_too_large_and_closes_with_4009(token: str) -> None:
    communicator = await socket_for(token)
    big = event("huge", "c-huge", 1, type="tool_call", tool="t", status="ok")
    big["args"] = {"blob": "x" * (1024 * 1024)}
    await communicator.send_to(text_data=json.dumps(big))
    error = json.loads(await communicator.receive_from(timeout=5))
    assert (error["code"], error["id"]) == ("too_large", None)
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4009}
    assert not await Event.objects.filter(event_id="huge").aexists()
