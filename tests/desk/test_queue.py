from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client, TestCase
from django.urls import reverse

from config.asgi import application
from conversations.services import conversation_owner_set, integration_create
from escalation.cases.lifecycle import case_open
from escalation.cases.routing import case_schedule
from escalation.models import AgentProfile, Case, Team
from tests.factories import ConversationFactory


def _queued_case(integration: Any, external_id: str, reason: str = "customer_request") -> Case:
    """Hand a conversation to humans and run what commit triggers (packet, then queue)."""
    conversation = ConversationFactory(integration=integration, external_id=external_id)
    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
        conversation_owner_set(conversation=conversation, owner="human", by="ai")
        case_open(conversation=conversation, trigger="handoff", reason=reason)
    case = Case.objects.get(conversation=conversation)
    # Queued, or already with an agent who is online (a connected desk page).
    assert case.status in (Case.Status.QUEUED, Case.Status.ASSIGNED)
    return case


@pytest.mark.django_db
def test_the_queue_needs_a_login(client: Client) -> None:
    response = client.get(reverse("desk:queue"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_user_who_is_not_an_agent_is_refused(client: Client) -> None:
    user = get_user_model().objects.create_user(username="outsider", password="pw")
    client.force_login(user)
    assert client.get(reverse("desk:queue")).status_code == 403


@pytest.mark.django_db
def test_login_and_logout_go_through_django_auth(client: Client, agent: Any) -> None:
    response = client.post(reverse("login"), {"username": "maya", "password": "pw-for-tests"})
    assert response.status_code == 302
    assert client.get(reverse("desk:queue")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("desk:queue")).status_code == 302


@pytest.mark.django_db
def test_the_queue_shows_open_cases_most_urgent_first(client: Client, agent: Any) -> None:
    integration, _ = integration_create(name="acme-bot")
    low = _queued_case(integration, "conv-low")
    high = _queued_case(integration, "conv-high", reason="policy")
    high.priority = 90
    case_schedule(case=high, now=high.queued_at)
    high.save()
    client.force_login(agent)
    html = client.get(reverse("desk:queue")).content.decode()
    assert html.index("conv-high") < html.index("conv-low")
    assert f'id="case-{low.pk}"' in html


@pytest.mark.django_db
def test_a_reason_code_reads_as_words_and_a_sentence_as_written(client: Client, agent: Any) -> None:
    integration, _ = integration_create(name="acme-bot")
    _queued_case(integration, "conv-code", reason="low_confidence")
    _queued_case(integration, "conv-words", reason="Asked twice for a_person")
    client.force_login(agent)
    html = client.get(reverse("desk:queue")).content.decode()
    assert "AI handoff: low confidence" in html
    assert "low_confidence" not in html
    assert "AI handoff: Asked twice for a_person" in html


@pytest.mark.django_db
def test_the_queue_costs_the_same_queries_for_any_number_of_cases(
    client: Client, agent: Any, django_assert_num_queries: Any
) -> None:
    integration, _ = integration_create(name="acme-bot")
    client.force_login(agent)
    _queued_case(integration, "c-0")
    # session, user, agent check, profile and its teams, the view counts, the cases, their
    # count, the topics to filter by
    with django_assert_num_queries(9):
        client.get(reverse("desk:queue"))
    for n in range(1, 30):
        _queued_case(integration, f"c-{n}")
    with django_assert_num_queries(9):
        response = client.get(reverse("desk:queue"))
    assert response.content.decode().count('class="card ') == 30


@pytest.mark.django_db
def test_an_htmx_request_gets_only_the_fragment(client: Client, agent: Any) -> None:
    client.force_login(agent)
    response = client.get(reverse("desk:queue"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="queue-list"')
    assert "<html" not in html


@database_sync_to_async
def _session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.mark.django_db(transaction=True)
async def test_the_desk_socket_sends_the_queue_on_connect_and_pushes_new_cases() -> None:
    user = await database_sync_to_async(get_user_model().objects.create_user)(
        username="leo", password="pw"
    )
    await AgentProfile.objects.acreate(user=user)
    integration, _ = await database_sync_to_async(integration_create)(name="acme-bot")
    communicator = WebsocketCommunicator(
        application,
        "/ws/desk/queue/",
        headers=[(b"origin", b"http://localhost"), (b"cookie", await _session_cookie(user))],
    )
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_from(timeout=5)
    assert 'id="queue-list"' in first
    assert 'hx-swap-oob="outerHTML"' in first
    assert "No open cases" in first
    await database_sync_to_async(_queued_case)(integration, "conv-live")
    pushed = await communicator.receive_from(timeout=5)
    assert "conv-live" in pushed
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_supervisor_hears_of_cases_on_a_team_created_after_the_page_opened() -> None:
    boss = await database_sync_to_async(get_user_model().objects.create_user)(
        username="rita", password="pw"
    )
    await AgentProfile.objects.acreate(user=boss, role=AgentProfile.Role.SUPERVISOR)
    integration, _ = await database_sync_to_async(integration_create)(name="acme-bot")
    case = await database_sync_to_async(_queued_case)(integration, "conv-warranty")
    communicator = WebsocketCommunicator(
        application,
        "/ws/desk/queue/",
        headers=[(b"origin", b"http://localhost"), (b"cookie", await _session_cookie(boss))],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_from(timeout=5)

    def move_to_a_new_team() -> None:
        from conversations.events import CaseUpdated, queue_send_now

        Team.objects.create(slug="warranty", name="Warranty")
        Case.objects.filter(pk=case.pk).update(team="warranty", summary_line="Moved to warranty")
        queue_send_now("warranty", CaseUpdated(case_id=case.pk))

    await database_sync_to_async(move_to_a_new_team)()
    pushed = ""
    while "Moved to warranty" not in pushed:
        # (Being online, the supervisor may also be told the case was assigned to them.)
        pushed = await communicator.receive_from(timeout=5)
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_desk_socket_refuses_anonymous_users() -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/desk/queue/", headers=[(b"origin", b"http://localhost")]
    )
    connected, _ = await communicator.connect()
    assert not connected


@pytest.mark.django_db(transaction=True)
async def test_the_desk_socket_refuses_other_origins() -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/desk/queue/", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected


async def _drain_until(communicator: WebsocketCommunicator, needle: str) -> str:
    for _ in range(10):
        frame = await communicator.receive_from(timeout=5)
        if needle in frame:
            return frame
    raise AssertionError(f"no frame with {needle!r}")


@pytest.mark.django_db(transaction=True)
async def test_the_case_socket_sends_the_transcript_and_follows_new_events() -> None:
    from conversations.services import events_ingest
    from tests.conftest import event

    user = await database_sync_to_async(get_user_model().objects.create_user)(
        username="leo", password="pw"
    )
    await AgentProfile.objects.acreate(user=user)
    integration, _ = await database_sync_to_async(integration_create)(name="acme-bot")
    case = await database_sync_to_async(_queued_case)(integration, "conv-live")
    communicator = WebsocketCommunicator(
        application,
        f"/ws/desk/cases/{case.pk}/",
        headers=[(b"origin", b"http://localhost"), (b"cookie", await _session_cookie(user))],
    )
    connected, _ = await communicator.connect()
    assert connected
    first = await _drain_until(communicator, 'id="transcript"')
    assert 'hx-swap-oob="outerHTML"' in first
    await database_sync_to_async(events_ingest)(
        integration=integration,
        raw_events=[event("late-1", "conv-live", 5, text="Are you still there?")],
    )
    pushed = await _drain_until(communicator, "Are you still there?")
    assert 'id="transcript"' in pushed
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_an_open_case_page_follows_what_others_do_to_the_case() -> None:
    """Leo has the case open; Maya takes it: his page shows her as its agent without a reload,
    and drops the forms that are hers now."""
    from escalation.cases.routing import case_pick

    leo = await database_sync_to_async(get_user_model().objects.create_user)(
        username="leo", password="pw"
    )
    maya = await database_sync_to_async(get_user_model().objects.create_user)(
        username="maya", password="pw", first_name="Maya"
    )
    # Leo has no room, so opening the page does not get the case auto-assigned to him.
    await AgentProfile.objects.acreate(user=leo, capacity=0)
    await AgentProfile.objects.acreate(user=maya)
    integration, _ = await database_sync_to_async(integration_create)(name="acme-bot")
    case = await database_sync_to_async(_queued_case)(integration, "conv-taken")
    communicator = WebsocketCommunicator(
        application,
        f"/ws/desk/cases/{case.pk}/",
        headers=[(b"origin", b"http://localhost"), (b"cookie", await _session_cookie(leo))],
    )
    connected, _ = await communicator.connect()
    assert connected
    await _drain_until(communicator, 'id="transcript"')

    def maya_takes_it() -> None:
        with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
            case_pick(case_id=case.pk, user=maya)

    await database_sync_to_async(maya_takes_it)()
    pushed = await _drain_until(communicator, 'id="case-head"')
    assert "with Maya" in pushed
    assert "Take this case" not in pushed
    assert 'id="wrap-up"' in pushed and "hidden" in pushed.split('id="wrap-up"')[1][:120]
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_heartbeat_keeps_the_agent_present_and_away_is_honoured() -> None:
    user = await database_sync_to_async(get_user_model().objects.create_user)(
        username="leo", password="pw"
    )
    await AgentProfile.objects.acreate(user=user)
    communicator = WebsocketCommunicator(
        application,
        "/ws/desk/queue/",
        headers=[(b"origin", b"http://localhost"), (b"cookie", await _session_cookie(user))],
    )
    await communicator.connect()
    await communicator.receive_from(timeout=5)
    profile = await AgentProfile.objects.aget(user=user)
    assert profile.presence == "online"
    await communicator.send_to(text_data='{"type": "heartbeat", "presence": "away"}')
    await communicator.send_to(text_data="not json")
    for _ in range(50):
        profile = await AgentProfile.objects.aget(user=user)
        if profile.presence == "away":
            break
        await asyncio.sleep(0.05)
    assert profile.presence == "away"
    await communicator.disconnect()
