"""What an open case page hears (issue 10, #13): every fragment a change touched, in one push
per transaction, also for someone watching a case they do not hold."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async

from conversations.services import integration_create
from escalation.cases.lifecycle import case_transfer
from escalation.cases.routing import case_pick
from escalation.cases.work import case_note, case_reply
from escalation.models import AgentProfile, Team
from tests.desk.test_queue import _queued_case
from tests.desk.test_socket_access import _agent, _socket

pytestmark = pytest.mark.django_db(transaction=True)


async def _watched_case() -> tuple[Any, Any, Any, Any]:
    """Maya holds a case; Rita, a supervisor, has its page open (its first frame read)."""
    maya = await _agent("maya", teams=["general"])
    rita = await _agent("rita", teams=[], role=AgentProfile.Role.SUPERVISOR)
    await database_sync_to_async(Team.objects.get_or_create)(
        slug="warranty", defaults={"name": "Warranty"}
    )
    integration, _ = await database_sync_to_async(integration_create)(name="acme-bot")
    case = await database_sync_to_async(_queued_case)(integration, "conv-watched")
    await database_sync_to_async(case_pick)(case_id=case.pk, user=maya)
    page = await _socket(f"/ws/desk/cases/{case.pk}/", rita)
    first = await page.receive_from(timeout=5)
    # A (re)connect redraws every fragment: pushes are lossy.
    for part in ('id="case-head"', 'id="transcript"', 'id="actions"', 'id="timeline"'):
        assert part in first, part
    # A supervisor's socket also gets the approvals badge once it is connected.
    while not await page.receive_nothing(timeout=0.5):
        extra = await page.receive_from()
        assert "approvals-badge" in extra and 'id="transcript"' not in extra, extra[:200]
    return maya, rita, case, page


async def _frames(page: Any) -> list[str]:
    frames = [await page.receive_from(timeout=5)]
    while not await page.receive_nothing(timeout=0.6):
        frames.append(await page.receive_from())
    return frames


async def test_a_supervisor_watching_sees_a_reply_with_the_new_header_and_timeline_at_once() -> (
    None
):
    maya, _, case, page = await _watched_case()
    await database_sync_to_async(case_reply)(case_id=case.pk, user=maya, text="On it, Noah.")
    frames = await _frames(page)
    assert len(frames) == 1, frames
    (frame,) = frames
    assert "On it, Noah." in frame  # the transcript
    assert 'id="case-head"' in frame and "first reply due" not in frame  # answered now
    timeline = frame[frame.index('id="timeline"') :]
    assert "First reply" in timeline and "Reply by" in timeline
    await page.disconnect()


async def test_a_transfer_redraws_a_watching_page_once() -> None:
    maya, _, case, page = await _watched_case()
    await database_sync_to_async(case_transfer)(
        case_id=case.pk, user=maya, note="needs warranty", team="warranty"
    )
    frames = await _frames(page)
    assert len(frames) == 1, [f[:80] for f in frames]
    assert "team warranty" in frames[0]
    assert "transferred" in frames[0][frames[0].index('id="timeline"') :]
    await page.disconnect()


async def test_a_note_reaches_the_watching_page_inline_and_once() -> None:
    maya, _, case, page = await _watched_case()
    await database_sync_to_async(case_note)(case_id=case.pk, user=maya, text="Repeat buyer.")
    frames = await _frames(page)
    assert len(frames) == 1
    assert "Repeat buyer." in frames[0]
    await page.disconnect()


async def test_one_transaction_sends_each_push_once() -> None:
    from channels.layers import get_channel_layer
    from django.db import transaction

    from conversations.events import (
        CaseUpdated,
        case_group,
        queue_send_on_commit,
        send_on_commit,
    )

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(case_group(7), channel)

    def change() -> None:
        with transaction.atomic():
            queue_send_on_commit("general", CaseUpdated(case_id=7))
            queue_send_on_commit("warranty", CaseUpdated(case_id=7))
            send_on_commit(case_group(7), CaseUpdated(case_id=7))
        with transaction.atomic():  # the next transaction is its own batch
            send_on_commit(case_group(7), CaseUpdated(case_id=7))
        try:
            with transaction.atomic():  # a rolled-back one sends nothing
                send_on_commit(case_group(7), CaseUpdated(case_id=7))
                raise RuntimeError
        except RuntimeError:
            pass
        with transaction.atomic():
            send_on_commit(case_group(7), CaseUpdated(case_id=7))

    await database_sync_to_async(change)()
    received = 0
    while True:
        try:
            await asyncio.wait_for(layer.receive(channel), timeout=0.3)
        except TimeoutError:
            break
        received += 1
    assert received == 3


async def _until(page: Any, text: str) -> str:
    frame = ""
    while text not in frame:
        frame = await page.receive_from(timeout=5)
    return frame


async def test_a_case_page_shows_who_else_is_viewing_and_typing() -> None:
    maya, _, case, rita_page = await _watched_case()
    maya_page = await _socket(f"/ws/desk/cases/{case.pk}/", maya)
    # Each hears of the other: the newcomer from the answer, the one already there from the join.
    await _until(maya_page, "rita (viewing)")
    await _until(rita_page, "maya (viewing)")

    await rita_page.send_to(text_data=json.dumps({"type": "typing"}))
    warning = await _until(maya_page, "rita (typing…)")
    assert "Someone else is writing" in warning
    assert 'id="case-viewers"' in warning

    await rita_page.disconnect()
    frame = await _until(maya_page, 'id="case-viewers"')
    while "rita" in frame:
        frame = await _until(maya_page, 'id="case-viewers"')
    assert "Also on this case" not in frame
    await maya_page.disconnect()


async def test_notes_stay_in_the_transcript_when_only_the_transcript_is_redrawn() -> None:
    from conversations.events import ConversationEvents, conversation_group, send_now

    maya, _, case, page = await _watched_case()
    await database_sync_to_async(case_note)(case_id=case.pk, user=maya, text="Repeat buyer.")
    await _frames(page)
    await database_sync_to_async(send_now)(
        conversation_group(case.conversation_id), ConversationEvents()
    )
    (frame,) = await _frames(page)
    assert 'id="transcript"' in frame and 'id="case-head"' not in frame
    assert "Repeat buyer." in frame and "internal note" in frame
    await page.disconnect()


async def test_a_case_page_shows_the_customer_typing_in_the_widget() -> None:
    from channels.layers import get_channel_layer

    from conversations.events import case_group

    _, _, case, rita_page = await _watched_case()
    # What the widget's socket sends the case's group (widget/consumers.py).
    await get_channel_layer().group_send(
        case_group(case.pk), {"type": "customer.typing", "case_id": case.pk}
    )
    frame = await _until(rita_page, 'id="customer-typing"')
    assert "The customer is typing…" in frame and 'hx-swap-oob="outerHTML"' in frame
    await rita_page.disconnect()
