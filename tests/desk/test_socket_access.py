"""Desk sockets stay authorised after connect: what a person may hear follows their access."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from config.asgi import application
from conversations.services import integration_create
from escalation.cases.lifecycle import case_transfer
from escalation.cases.routing import case_pick
from escalation.models import AgentProfile, Case, Team
from tests.desk.test_queue import _queued_case

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _agent(username: str, *, teams: list[str], role: str = "agent") -> Any:
    user = get_user_model().objects.create_user(username=username, password="pw")
    profile = AgentProfile.objects.create(user=user, role=role)
    for slug in teams:
        team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
        profile.teams.add(team)
    return user


@database_sync_to_async
def _cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _socket(path: str, user: Any) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application,
        path,
        headers=[(b"origin", b"http://localhost"), (b"cookie", await _cookie(user))],
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def test_a_deactivated_agents_queue_socket_is_closed() -> None:
    leo = await _agent("leo", teams=["general"])
    communicator = await _socket("/ws/desk/queue/", leo)
    await communicator.receive_from(timeout=5)  # the queue on connect

    leo.is_active = False
    await database_sync_to_async(leo.save)(update_fields=["is_active"])

    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4403}


async def test_an_agent_taken_off_a_team_stops_hearing_its_queue() -> None:
    leo = await _agent("leo", teams=["general", "warranty"])
    integration, _ = await database_sync_to_async(integration_create)(name="acme-bot")
    communicator = await _socket("/ws/desk/queue/", leo)
    await communicator.receive_from(timeout=5)

    profile = await AgentProfile.objects.aget(user=leo)
    warranty = await Team.objects.aget(slug="warranty")
    await database_sync_to_async(profile.teams.remove)(warranty)
    resynced = await communicator.receive_from(timeout=5)
    assert 'id="queue-list"' in resynced

    case = await database_sync_to_async(_queued_case)(integration, "conv-warranty")
    while not await communicator.receive_nothing(timeout=0.5):
        await communicator.receive_from()  # the general queue's pushes about the new case
    await Case.objects.filter(pk=case.pk).aupdate(team="warranty")
    from conversations.events import CaseUpdated, queue_send_now

    await database_sync_to_async(queue_send_now)("warranty", CaseUpdated(case_id=case.pk))
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_a_supervisor_made_an_agent_stops_hearing_every_teams_queue() -> None:
    rita = await _agent("rita", teams=["general"], role=AgentProfile.Role.SUPERVISOR)
    integration, _ = await database_sync_to_async(integration_create)(name="acme-bot")
    communicator = await _socket("/ws/desk/queue/", rita)
    while not await communicator.receive_nothing(timeout=0.5):
        await communicator.receive_from()  # the queue and the approvals badge on connect

    # The role changes as the admin changes it: a save, no push sent by hand.
    profile = await AgentProfile.objects.aget(user=rita)
    profile.role = AgentProfile.Role.AGENT
    await database_sync_to_async(profile.save)(update_fields=["role"])
    resynced = ""
    while 'id="queue-list"' not in resynced:
        resynced = await communicator.receive_from(timeout=5)

    case = await database_sync_to_async(_queued_case)(integration, "conv-warranty")
    while not await communicator.receive_nothing(timeout=0.5):
        await communicator.receive_from()  # the general queue's pushes about the new case
    await Case.objects.filter(pk=case.pk).aupdate(team="warranty")
    from conversations.events import CaseUpdated, queue_send_now

    await database_sync_to_async(queue_send_now)("warranty", CaseUpdated(case_id=case.pk))
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_a_case_page_stops_following_a_case_moved_to_another_team() -> None:
    maya = await _agent("maya", teams=["general"])
    boss = await _agent("rita", teams=[], role=AgentProfile.Role.SUPERVISOR)
    await database_sync_to_async(Team.objects.get_or_create)(
        slug="warranty", defaults={"name": "Warranty"}
    )
    integration, _ = await database_sync_to_async(integration_create)(name="acme-bot")
    case = await database_sync_to_async(_queued_case)(integration, "conv-moving")
    await database_sync_to_async(case_pick)(case_id=case.pk, user=maya)
    communicator = await _socket(f"/ws/desk/cases/{case.pk}/", maya)
    await communicator.receive_from(timeout=5)  # the transcript on connect

    await database_sync_to_async(case_transfer)(
        case_id=case.pk, user=boss, note="warranty claim", team="warranty"
    )
    gone = ""
    while "moved to a team you don't work" not in gone:
        gone = await communicator.receive_from(timeout=5)

    # The customer writes again: the agent who lost the case hears nothing of it.
    from conversations.events import ConversationEvents, conversation_group, send_now

    await database_sync_to_async(send_now)(
        conversation_group(case.conversation_id), ConversationEvents()
    )
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("origin", "host", "connects"),
    [
        (b"http://localhost:8000", b"localhost:8000", True),
        (b"http://localhost:9999", b"localhost:8000", False),
        (b"https://localhost:8000", b"localhost:8000", False),
        (b"http://evil.example:8000", b"localhost:8000", False),
        (b"http://localhost", b"localhost:80", True),
        (b"null", b"localhost:8000", False),
    ],
)
async def test_the_desk_socket_takes_only_its_own_origin_with_its_port(
    origin: bytes, host: bytes, connects: bool
) -> None:
    leo = await _agent("leo", teams=["general"])
    communicator = WebsocketCommunicator(
        application,
        "/ws/desk/queue/",
        headers=[(b"origin", origin), (b"host", host), (b"cookie", await _cookie(leo))],
    )
    connected, _ = await communicator.connect()
    assert connected is connects
    await communicator.disconnect()
