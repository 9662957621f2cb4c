"""A fuzzer over the ingest protocol: no frame crashes the socket's consumer, no batch is a 5xx,
and every frame gets its answers. Bounded in CI (BATON_FUZZ_EXAMPLES raises it for a longer
run, e.g. `BATON_FUZZ_EXAMPLES=2000 make test`)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.asgi import application
from conversations.services import integration_create

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("BATON_FUZZ_EXAMPLES", "40"))

# Any JSON value, including the edges: huge and tiny numbers, unicode of every plane (lone
# surrogates included: a client's encoder escapes them), NUL, deep-ish nesting.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec=None), max_size=40)
    | st.sampled_from(["", "\x00", "\ud800", "x\udfff", "\u202e", "1e400", "NaN"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "type",
    "id",
    "conversation",
    "seq",
    "at",
    "role",
    "text",
    "tool",
    "args",
    "status",
    "result",
    "confidence",
    "reason",
    "note",
    "outcome",
    "customer",
    "intent",
    "topic",
]


@st.composite
def events(draw: Any) -> Any:
    """A valid event, then some of its fields given a wrong value (or an unknown extra)."""
    seq = draw(st.integers(min_value=1, max_value=50))
    kind = draw(st.sampled_from(["message", "tool_call", "ai_signal", "handoff", "close"]))
    base: dict[str, Any] = {
        "type": kind,
        "id": draw(st.text(min_size=1, max_size=12)),
        "conversation": draw(st.sampled_from(["fz-1", "fz-2", "fz-3"])),
        "seq": seq,
        "at": "2026-11-27T10:00:00Z",
    }
    if kind == "message":
        base |= {"role": draw(st.sampled_from(["customer", "ai"])), "text": "hello"}
    elif kind == "tool_call":
        base |= {"tool": "get_order_details", "args": {}, "status": "ok"}
    elif kind == "handoff":
        base |= {"reason": "customer_request"}
    elif kind == "close":
        base |= {"outcome": "resolved"}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
        base[name] = draw(json_values)
    if draw(st.booleans()):
        return base
    return draw(st.one_of(st.just(base), json_values))


frames = st.one_of(events(), st.lists(events(), min_size=1, max_size=6), json_values)


def _answers_expected(frame: Any) -> int:
    if isinstance(frame, list) and frame:
        return len(frame)
    return 1


@pytest.fixture
def token() -> str:
    return integration_create(name="fuzz-bot")[1]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=frames)
def test_no_frame_crashes_the_ingest_socket(token: str, frame: Any) -> None:
    async def run() -> None:
        communicator = WebsocketCommunicator(
            application, "/ws/ingest/v1/", headers=[(b"authorization", f"Bearer {token}".encode())]
        )
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        await communicator.send_to(text_data=json.dumps(frame))
        for _ in range(_answers_expected(frame)):
            output = await communicator.receive_output(timeout=10)
            # A close here (1011) is a crashed consumer; every answer is a text frame.
            assert output["type"] == "websocket.send", output
            answer = json.loads(output["text"])
            assert answer["type"] in {"ack", "error"}, answer
        # A handoff's control frame may follow its answers; nothing may close the socket.
        while not await communicator.receive_nothing(timeout=0.05):
            output = await communicator.receive_output(timeout=1)
            assert output["type"] == "websocket.send", output
            assert json.loads(output["text"])["type"] == "control", output
        await communicator.disconnect(timeout=10)

    async_to_sync(run)()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(events(), min_size=1, max_size=6))
def test_no_batch_is_a_server_error_over_http(token: str, batch: list[Any]) -> None:
    response = Client().post(
        "/api/v1/events",
        data=json.dumps({"events": batch}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code < 500, response.content[:500]
    if response.status_code == 200:
        assert len(response.json()["results"]) == len(batch)
