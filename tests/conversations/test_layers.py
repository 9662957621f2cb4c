"""Redis restarting does not kill the sockets: ingest goes on storing and acking, and pushes
resume once Redis is back, without a reconnect (conversations/layers.py)."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from config.asgi import application
from conversations.events import ConversationControl, integration_group, send_now
from conversations.models import Event
from conversations.schemas import ControlOut
from conversations.services import integration_create

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Redis:
    """A redis-server of the test's own, so it can be killed and started again."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[Redis]:
    from conversations import layers

    monkeypatch.setattr(layers, "RETRY_MAX_SECONDS", 0.2)
    server = Redis()
    server.start()
    config = {
        "default": {
            "BACKEND": "conversations.layers.ResilientRedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{server.port}/0"], "prefix": "t"},
        }
    }
    with override_settings(CHANNEL_LAYERS=config):
        yield server
    if server.proc and server.proc.poll() is None:
        server.kill()


def _say(n: int) -> str:
    return json.dumps(
        {
            "type": "message",
            "id": f"m{n}",
            "conversation": "c1",
            "seq": n,
            "at": "2026-11-27T10:00:00Z",
            "role": "customer",
            "text": "Hello?",
        }
    )


async def _frames_until(communicator: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await communicator.receive_from(timeout=10))
        if frame.get("type") == kind:
            return frame


async def test_ingest_keeps_storing_and_acking_through_a_redis_restart(redis: Redis) -> None:
    integration, token = await database_sync_to_async(integration_create)(name="acme-bot")
    communicator = WebsocketCommunicator(
        application, "/ws/ingest/v1/", headers=[(b"authorization", f"Bearer {token}".encode())]
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data=_say(1))
    assert (await _frames_until(communicator, "ack"))["id"] == "m1"

    redis.kill()
    # The socket's channel read fails now; the socket must live on. Today it closed with 1011.
    await communicator.send_to(text_data=_say(2))
    assert (await _frames_until(communicator, "ack"))["id"] == "m2"
    assert await Event.objects.filter(event_id="m2").aexists()

    redis.start()  # an empty Redis: it has forgotten the socket's group
    control = ControlOut(conversation="c1", owner="human", by="escalation")
    deadline = time.monotonic() + 10
    frame: dict[str, Any] = {}
    while frame.get("type") != "control" and time.monotonic() < deadline:
        await database_sync_to_async(send_now)(
            integration_group(integration.pk), ConversationControl(frame=control)
        )
        # receive_from's timeout would cancel the application; receive_nothing waits without.
        if await communicator.receive_nothing(timeout=0.5):
            continue
        frame = json.loads(await communicator.receive_from())
    assert frame == control.model_dump(mode="json", exclude_none=True)
    await communicator.disconnect()


async def test_a_socket_that_connects_while_redis_is_down_joins_its_group_later(
    redis: Redis,
) -> None:
    layer = get_channel_layer()
    redis.kill()
    channel = await layer.new_channel()
    await layer.group_add("queue.general", channel)  # does not raise
    redis.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        await layer.group_send("queue.general", {"type": "case.updated", "case_id": 1})
        try:
            message = await asyncio.wait_for(layer.receive(channel), 0.5)
        except TimeoutError:
            continue
        assert message == {"type": "case.updated", "case_id": 1}
        break
    else:
        pytest.fail("the group was never joined")
    await layer.group_discard("queue.general", channel)


def test_http_ingest_keeps_storing_and_acking_while_redis_is_down(
    redis: Redis, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis down for the rate limit's bucket and the broker alike: the batch is stored and
    answered, and the durable mark is left for the sweep (issue 9 §3: this was a 500)."""
    from django.test import Client
    from kombu.exceptions import OperationalError

    from conversations import ratelimit
    from conversations.models import Conversation
    from escalation import tasks

    def broker_down(*_: Any, **__: Any) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1. Connection refused.")

    _, token = integration_create(name="acme-bot")
    settings.REDIS_URL = f"redis://127.0.0.1:{redis.port}/0"
    monkeypatch.setattr(tasks.analyze_conversation, "delay", broker_down)
    ratelimit._redis_script.cache_clear()  # a client for this Redis, not the suite's
    redis.kill()
    try:
        response = Client().post(
            "/api/v1/events",
            data=json.dumps({"events": [json.loads(_say(1))]}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
    finally:
        ratelimit._redis_script.cache_clear()
    assert response.status_code == 200, response.content[:500]
    assert response.json()["results"][0]["status"] == "stored"
    assert Event.objects.filter(event_id="m1").exists()
    assert Conversation.objects.get(external_id="c1").analysis_due_at is not None
