"""A push to a queue is rendered once per view, however many of its agents have it open."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async

from conversations.events import CaseUpdated, queue_send_now
from conversations.services import integration_create
from desk import consumers
from desk.fanout import render_once
from desk.selectors import QueueQuery, QueueScope
from escalation.models import AgentProfile, Case
from tests.desk.test_queue import _queued_case
from tests.desk.test_socket_access import _agent, _socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """Every queue fragment rendered, as (viewer, teams)."""
    made: list[tuple[Any, Any]] = []
    real = consumers.queue_fragment

    def counted(*, user: Any, scope: Any, query: Any) -> str:
        made.append((user.username if user else None, scope.teams))
        return real(user=user, scope=scope, query=query)

    monkeypatch.setattr(consumers, "queue_fragment", counted)
    return made


async def _drain(communicator: Any) -> list[str]:
    frames = []
    while not await communicator.receive_nothing(timeout=0.3):
        frames.append(await communicator.receive_from())
    return frames


async def test_one_render_per_team_and_one_for_a_supervisor(renders: list) -> None:
    agents = [await _agent(f"agent{n}", teams=["general"]) for n in range(4)]
    sam = await _agent("sam", teams=["billing"])
    rita = await _agent("rita", teams=[], role=AgentProfile.Role.SUPERVISOR)
    integration, _ = await database_sync_to_async(integration_create)(name="acme-bot")
    case = await database_sync_to_async(_queued_case)(integration, "conv-fan")
    sockets = [await _socket("/ws/desk/queue/", user) for user in [*agents, sam, rita]]
    for communicator in sockets:
        await _drain(communicator)
    renders.clear()

    await database_sync_to_async(queue_send_now)("general", CaseUpdated(case_id=case.pk))

    frames = [await _drain(communicator) for communicator in sockets]
    # Every general agent and the supervisor see the case; billing heard nothing.
    assert all(any(">conv-fan<" in f for f in got) for got in frames[:4])
    assert frames[4] == []
    assert any(">conv-fan<" in f for f in frames[5])
    assert sorted(renders, key=repr) == sorted([(None, ("general",)), (None, None)], key=repr)
    for communicator in sockets:
        await communicator.disconnect()


async def test_an_agent_holding_another_teams_case_gets_their_own_list(renders: list) -> None:
    leo, maya = await _agent("leo", teams=["general"]), await _agent("maya", teams=["general"])
    integration, _ = await database_sync_to_async(integration_create)(name="acme-bot")
    theirs = await database_sync_to_async(_queued_case)(integration, "conv-warranty")
    # Transferred to Leo, though he is not on warranty: his queue lists it, Maya's does not.
    await Case.objects.filter(pk=theirs.pk).aupdate(
        team="warranty", status=Case.Status.ASSIGNED, assignee=leo
    )
    sockets = [await _socket("/ws/desk/queue/", user) for user in (leo, maya)]
    for communicator in sockets:
        await _drain(communicator)
    renders.clear()

    await database_sync_to_async(queue_send_now)("general", CaseUpdated(case_id=theirs.pk))

    leo_frames, maya_frames = [await _drain(communicator) for communicator in sockets]
    assert ">conv-warranty<" in leo_frames[-1]
    assert ">conv-warranty<" not in maya_frames[-1]
    assert sorted(renders, key=repr) == sorted(
        [(None, ("general",)), ("leo", ("general",))], key=repr
    )
    for communicator in sockets:
        await communicator.disconnect()


async def test_sockets_asking_at_once_share_the_one_render() -> None:
    calls = []

    def work() -> str:
        calls.append(1)
        return "<section>"

    got = await asyncio.gather(*(render_once(("stamp-1", "general"), work) for _ in range(50)))
    assert got == ["<section>"] * 50
    assert calls == [1]
    # Another push is rendered afresh.
    assert await render_once(("stamp-2", "general"), work) == "<section>"
    assert calls == [1, 1]


async def test_a_socket_that_goes_away_does_not_cancel_the_render_for_the_others() -> None:
    def work() -> str:
        return "<section>"

    first = asyncio.ensure_future(render_once(("stamp-3", "general"), work))
    await asyncio.sleep(0)  # the first socket has asked
    first.cancel()
    assert await render_once(("stamp-3", "general"), work) == "<section>"


def test_the_pushed_queue_keeps_its_words_and_drops_the_indentation(desk: Any) -> None:
    scope = QueueScope(teams=("general",), own=("general",))
    html = consumers.queue_fragment(user=None, scope=scope, query=QueueQuery())
    assert "\n    " not in html
    assert html.startswith('<section id="queue-list"')


async def test_a_pushed_view_keeps_its_view_and_each_agent_gets_their_own_mine_count(
    renders: list,
) -> None:
    import re

    leo, maya = await _agent("leo", teams=["general"]), await _agent("maya", teams=["general"])
    integration, _ = await database_sync_to_async(integration_create)(name="acme-bot")
    held = await database_sync_to_async(_queued_case)(integration, "conv-held")
    await Case.objects.filter(pk=held.pk).aupdate(status=Case.Status.ASSIGNED, assignee=leo)
    sockets = [await _socket("/ws/desk/queue/?view=unassigned", user) for user in (leo, maya)]
    for communicator in sockets:
        await _drain(communicator)
    renders.clear()

    fresh = await database_sync_to_async(_queued_case)(integration, "conv-new")
    await Case.objects.filter(pk=fresh.pk).aupdate(status=Case.Status.QUEUED, assignee=None)
    await database_sync_to_async(queue_send_now)("general", CaseUpdated(case_id=fresh.pk))

    leo_frames, maya_frames = [await _drain(communicator) for communicator in sockets]
    for frames, mine in ((leo_frames, "1"), (maya_frames, "0")):
        last = frames[-1]
        assert ">conv-new<" in last and ">conv-held<" not in last
        assert 'id="view-unassigned" class="current"' in last
        assert re.search(r'id="view-count-unassigned">1<', last)
        assert re.search(rf'id="view-count-mine">{mine}<', last)
    # One render of the view serves both; each socket only puts in its own count.
    assert renders[-1] == (None, ("general",))
    assert len([r for r in renders if r[0] is not None]) == 0
    for communicator in sockets:
        await communicator.disconnect()


async def test_each_filtered_view_is_rendered_once_and_keeps_its_filters(renders: list) -> None:
    agents = [await _agent(f"agent{n}", teams=["general"]) for n in range(3)]
    integration, _ = await database_sync_to_async(integration_create)(name="acme-bot")
    low = await database_sync_to_async(_queued_case)(integration, "conv-low")
    high = await database_sync_to_async(_queued_case)(integration, "conv-high")
    await Case.objects.filter(pk=high.pk).aupdate(priority=90)
    await Case.objects.filter(pk__in=[low.pk, high.pk]).aupdate(
        status=Case.Status.QUEUED, assignee=None
    )
    paths = ["/ws/desk/queue/?view=teams&priority=high"] * 2 + ["/ws/desk/queue/?view=teams"]
    sockets = [await _socket(path, user) for path, user in zip(paths, agents, strict=True)]
    for communicator in sockets:
        await _drain(communicator)
    renders.clear()

    await database_sync_to_async(queue_send_now)("general", CaseUpdated(case_id=high.pk))

    frames = [(await _drain(communicator))[-1] for communicator in sockets]
    for filtered in frames[:2]:
        assert ">conv-high<" in filtered and ">conv-low<" not in filtered
        assert "priority=high" in filtered
    assert ">conv-high<" in frames[2] and ">conv-low<" in frames[2]
    assert renders == [(None, ("general",))] * 2
    for communicator in sockets:
        await communicator.disconnect()


async def test_a_page_further_down_stays_on_its_page_when_pushed(renders: list) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from desk.selectors import QUEUE_PAGE_SIZE
    from tests.factories import CaseFactory

    maya = await _agent("maya", teams=["general"])
    await AgentProfile.objects.filter(user=maya).aupdate(capacity=0)
    now = timezone.now()

    def fill() -> list[int]:
        n = QUEUE_PAGE_SIZE + 10
        cases = [CaseFactory(now=now - timedelta(minutes=n - i)) for i in range(n)]
        return [case.pk for case in cases]

    pks = await database_sync_to_async(fill)()
    communicator = await _socket("/ws/desk/queue/?page=2", maya)
    first = (await _drain(communicator))[-1]
    assert f'id="case-{pks[QUEUE_PAGE_SIZE]}"' in first and f'id="case-{pks[0]}"' not in first

    await database_sync_to_async(queue_send_now)("general", CaseUpdated(case_id=pks[0]))
    pushed = (await _drain(communicator))[-1]
    assert f'id="case-{pks[-1]}"' in pushed and f'id="case-{pks[0]}"' not in pushed
    assert '<span class="current" aria-current="page">2</span>' in pushed
    await communicator.disconnect()
