"""The issue's acceptance run: a real protocol client against daphne serving config.asgi."""

from __future__ import annotations

import json
import random
import urllib.request
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from conversations.services import integration_create
from tests.conftest import event
from tests.live import LiveServer


def _read(server: LiveServer, token: str, conversation: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{server.url}/api/v1/conversations/{conversation}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_refused_without_a_token(live_asgi_server: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{live_asgi_server.ws_url}/ws/ingest/v1/", open_timeout=10)
    assert refused.value.response.status_code == 403


def test_shuffled_events_resends_and_malformed_ones(live_asgi_server: LiveServer) -> None:
    _, token = integration_create(name="acme-bot")
    rng = random.Random(20261127)
    events = [event(f"c{c}-e{s}", f"conv-{c}", s) for c in range(10) for s in range(1, 21)]
    rng.shuffle(events)
    resends = rng.sample(events, 20)
    malformed: list[tuple[str, str]] = [
        ("{this is not json", "invalid_json"),
        (json.dumps(event("bad-1", "conv-0", 99, type="teleport")), "unknown_type"),
        (json.dumps(event("bad-2", "conv-0", 0)), "invalid_event"),
        (json.dumps(event("bad-3", "conv-1", 98, text="z" * 16_001)), "too_large"),
        (
            json.dumps([event(f"big-{n}", "conv-2", 90 + n, text="w" * 15_000) for n in range(5)]),
            "too_large",
        ),
    ]
    frames = [json.dumps(e) for e in events]
    for frame in [json.dumps(e) for e in resends] + [frame for frame, _ in malformed]:
        frames.insert(rng.randint(0, len(frames)), frame)

    with connect(
        f"{live_asgi_server.ws_url}/ws/ingest/v1/",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=10,
    ) as socket:
        for frame in frames:
            socket.send(frame)
        answers = [json.loads(socket.recv(timeout=20)) for _ in frames]

        statuses = [a.get("status") for a in answers if a["type"] == "ack"]
        assert statuses.count("stored") == 200
        assert statuses.count("duplicate") == 20
        errors = sorted(a["code"] for a in answers if a["type"] == "error")
        assert errors == sorted(code for _, code in malformed)
        # The socket is still open after all of that.
        handoff = event("c3-e21", "conv-3", 21, type="handoff", reason="customer_request")
        del handoff["role"], handoff["text"]
        socket.send(json.dumps(handoff))
        assert json.loads(socket.recv(timeout=10))["status"] == "stored"
        control = json.loads(socket.recv(timeout=10))
        assert control == {
            "type": "control",
            "conversation": "conv-3",
            "owner": "human",
            "by": "ai",
        }

    for c in range(10):
        body = _read(live_asgi_server, token, f"conv-{c}")
        seqs = [e["seq"] for e in body["events"]]
        assert seqs == sorted(seqs)
        assert seqs[:20] == list(range(1, 21))
    assert _read(live_asgi_server, token, "conv-3")["owner"] == "human"
