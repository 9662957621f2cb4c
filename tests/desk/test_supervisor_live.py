"""The console's socket (/ws/desk/supervisor/): the whole console on connect, a change pushed
as the fragments it touched, a burst redrawn once and rendered once for every console of the
process, and nobody but supervisors let in."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from config.asgi import application
from conversations.events import SUPERVISORS_GROUP
from conversations.services import integration_create
from desk import console_socket, supervisor
from escalation.cases.routing import case_pick, presence_heartbeat
from escalation.models import AgentProfile
from tests.desk.test_queue import _queued_case
from tests.desk.test_socket_access import _agent, _cookie, _socket

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/desk/supervisor/"


async def _console(user: Any, path: str = PATH) -> tuple[WebsocketCommunicator, str]:
    """A console socket and its first frame (the resync)."""
    socket = await _socket(path, user)
    first = await socket.receive_from(timeout=5)
    return socket, first


async def _frames(socket: WebsocketCommunicator) -> list[str]:
    frames = [await socket.receive_from(timeout=5)]
    while not await socket.receive_nothing(timeout=0.4):
        frames.append(await socket.receive_from())
    return frames


async def test_agents_are_refused_and_a_supervisor_gets_the_whole_console_on_connect() -> None:
    leo = await _agent("leo", teams=["general"])
    refused = WebsocketCommunicator(
        application,
        PATH,
        headers=[(b"origin", b"http://localhost"), (b"cookie", await _cookie(leo))],
    )
    connected, code = await refused.connect()
    assert not connected and code == 4403
    rita = await _agent("rita", teams=[], role=AgentProfile.Role.SUPERVISOR)
    socket, first = await _console(rita)
    for part in ('id="health-strip"', 'id="board"', 'id="approvals-panel"', 'id="approvals-badge"'):
        assert part in first, part
    assert f'id="agent-{leo.pk}"' in first
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_a_case_taken_pushes_the_strip_and_the_agents_row_only() -> None:
    maya = await _agent("maya", teams=["general"])
    leo = await _agent("leo", teams=["general"])
    rita = await _agent("rita", teams=[], role=AgentProfile.Role.SUPERVISOR)
    # Rita's console puts her online: she must not be the one the case goes to.
    await database_sync_to_async(AgentProfile.objects.filter(user=rita).update)(capacity=0)
    integration, _ = await database_sync_to_async(integration_create)(name="acme-bot")
    case = await database_sync_to_async(_queued_case)(integration, "conv-1")
    socket, first = await _console(rita, PATH + "?sort=name")
    assert 'id="health-all"' in first

    await database_sync_to_async(case_pick)(case_id=case.pk, user=maya)
    # (The take's own pushes come as one frame; the in-process work it sets off after commit,
    # such as the next auto-assignment round, may add another.)
    frame = "".join(await _frames(socket))
    assert 'id="health-strip" class="health-strip"' in frame and 'hx-swap-oob="outerHTML"' in frame
    # Sorted by name the order holds: Maya's row alone, not Leo's unchanged one.
    assert f'id="agent-{maya.pk}"' in frame and ">1/" in frame
    assert f'id="agent-{leo.pk}"' not in frame and 'id="board"' not in frame
    await socket.disconnect()


async def test_a_presence_change_redraws_that_agents_row_reading_only_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    maya = await _agent("maya", teams=["general"])
    leo = await _agent("leo", teams=["general"])
    rita = await _agent("rita", teams=[], role=AgentProfile.Role.SUPERVISOR)
    socket, first = await _console(rita, PATH + "?sort=name")
    assert "presence-offline" in first
    while not await socket.receive_nothing(timeout=0.4):
        await socket.receive_from()
    whole_reads: list[Any] = []
    real = supervisor.agents_workload
    monkeypatch.setattr(
        supervisor, "agents_workload", lambda **kw: whole_reads.append(kw) or real(**kw)
    )
    await database_sync_to_async(presence_heartbeat)(user=maya, presence="away")
    frame = "".join(await _frames(socket))
    row = frame[frame.index(f'id="agent-{maya.pk}"') :]
    assert "presence-away" in row and f'id="agent-{leo.pk}"' not in frame
    # The change named Maya: her row was read, not the whole board.
    assert whole_reads == []
    await socket.disconnect()


async def test_a_burst_is_redrawn_once_and_rendered_once_for_every_console(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _agent("maya", teams=["general"])
    rita = await _agent("rita", teams=[], role=AgentProfile.Role.SUPERVISOR)
    sam = await _agent("sam", teams=[], role=AgentProfile.Role.SUPERVISOR)
    first, _ = await _console(rita)
    second, _ = await _console(sam)
    # Sam coming online was itself a change: let its redraw pass.
    for socket in (first, second):
        while not await socket.receive_nothing(timeout=0.4):
            await socket.receive_from()
    renders: list[Any] = []
    real = console_socket.board_push

    def counted(**kwargs: Any) -> Any:
        renders.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(console_socket, "board_push", counted)
    await database_sync_to_async(AgentProfile.objects.filter(user__username="maya").update)(
        capacity=7
    )
    layer = get_channel_layer()
    for _ in range(5):
        await layer.group_send(SUPERVISORS_GROUP, {"type": "workload.changed", "stamp": "x"})
    for socket in (first, second):
        frames = await _frames(socket)
        # The board first, in one frame; the controls panel (capacity 7) after it, alone.
        assert len(frames) == 2 and "/7<" in frames[0], frames
        assert 'id="supervisor-controls"' not in frames[0]
        assert frames[1].lstrip().startswith('<section id="supervisor-controls"')
        assert 'value="7"' in frames[1]
    assert len(renders) == 1
    # Nothing changed since: a push sends nothing.
    await layer.group_send(SUPERVISORS_GROUP, {"type": "workload.changed", "stamp": "y"})
    assert await first.receive_nothing(timeout=0.4)
    await first.disconnect()
    await second.disconnect()


async def test_a_supervisor_demoted_has_their_console_closed() -> None:
    rita = await _agent("rita", teams=[], role=AgentProfile.Role.SUPERVISOR)
    socket, _ = await _console(rita)
    await database_sync_to_async(AgentProfile.objects.filter(user=rita).update)(
        role=AgentProfile.Role.AGENT
    )
    layer = get_channel_layer()
    await layer.group_send(f"agent.{rita.pk}", {"type": "agent.access"})
    closed = await socket.receive_output(timeout=5)
    while closed["type"] == "websocket.send":  # a redraw already on its way
        closed = await socket.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4403}
