"""What each case service pushes, and to whom: pinned, so a change to the fan-out is a choice."""

from __future__ import annotations

from typing import Any

from django.test import TestCase

from conversations.events import (
    ALL_QUEUES_GROUP,
    SUPERVISORS_GROUP,
    CaseAssigned,
    CaseUpdated,
    ConversationControl,
    ConversationEvents,
    ConversationMessage,
    agent_group,
    case_group,
    conversation_group,
    integration_group,
    queue_group,
)
from escalation.cases.lifecycle import case_resolve
from escalation.cases.routing import case_pick
from escalation.cases.work import case_note, case_reply
from tests.conftest import Desk


def _shape(pushes: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    return [(group, event.type) for group, event in pushes]


def _taken(desk: Desk, pushes: list[tuple[str, Any]]) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        case_pick(case_id=desk.case.pk, user=desk.maya)
    pushes.clear()


def test_taking_a_case_greets_the_customer_and_tells_the_agent_and_the_queues(
    desk: Desk, pushes: list[tuple[str, Any]]
) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        case_pick(case_id=desk.case.pk, user=desk.maya)

    case, conversation = desk.case, desk.case.conversation
    assert _shape(pushes) == [
        # Maya was offline: taking the case brings her back, which the consoles hear.
        (SUPERVISORS_GROUP, "workload.changed"),
        (agent_group(desk.maya.pk), "case.assigned"),
        (queue_group(case.team), "case.updated"),
        (ALL_QUEUES_GROUP, "case.updated"),
        (case_group(case.pk), "case.updated"),
        (integration_group(desk.bot.pk), "conversation.message"),
        (conversation_group(conversation.pk), "conversation.events"),
    ]
    assert pushes[0][1].user_ids == [desk.maya.pk]
    greeting = pushes[5][1]
    assert isinstance(greeting, ConversationMessage)
    assert greeting.frame.role == "agent" and "Maya" in greeting.frame.text
    assigned = pushes[1][1]
    assert assigned == CaseAssigned(case_id=case.pk, notify=False, summary=assigned.summary)


def test_a_reply_goes_to_the_customer_and_redraws_the_case_pages_and_queues(
    desk: Desk, pushes: list[tuple[str, Any]]
) -> None:
    _taken(desk, pushes)
    with TestCase.captureOnCommitCallbacks(execute=True):
        case_reply(case_id=desk.case.pk, user=desk.maya, text="Refund on its way.")

    # The header (the first-reply deadline met) and timeline change with the transcript.
    assert _shape(pushes) == [
        (integration_group(desk.bot.pk), "conversation.message"),
        (conversation_group(desk.case.conversation_id), "conversation.events"),
        (queue_group(desk.case.team), "case.updated"),
        (ALL_QUEUES_GROUP, "case.updated"),
        (case_group(desk.case.pk), "case.updated"),
    ]
    message, events = pushes[0][1], pushes[1][1]
    assert isinstance(message, ConversationMessage) and isinstance(events, ConversationEvents)
    assert message.frame.text == "Refund on its way."
    assert message.frame.conversation == desk.case.conversation.external_id


def test_a_note_redraws_the_case_page_and_never_reaches_the_customer(
    desk: Desk, pushes: list[tuple[str, Any]]
) -> None:
    _taken(desk, pushes)
    with TestCase.captureOnCommitCallbacks(execute=True):
        case_note(case_id=desk.case.pk, user=desk.maya, text="Customer is a regular.")

    assert pushes == [(case_group(desk.case.pk), CaseUpdated(case_id=desk.case.pk))]


def test_a_hand_back_tells_the_platform_with_the_note_and_redraws_the_queues(
    desk: Desk, pushes: list[tuple[str, Any]]
) -> None:
    _taken(desk, pushes)
    with TestCase.captureOnCommitCallbacks(execute=True):
        case_resolve(
            case_id=desk.case.pk, user=desk.maya, outcome="handed_back", note="Refund done."
        )

    case = desk.case
    assert _shape(pushes) == [
        (integration_group(desk.bot.pk), "conversation.control"),
        (queue_group(case.team), "case.updated"),
        (ALL_QUEUES_GROUP, "case.updated"),
        (case_group(case.pk), "case.updated"),
    ]
    control = pushes[0][1]
    assert isinstance(control, ConversationControl)
    assert control.frame.model_dump(exclude_none=True) == {
        "type": "control",
        "conversation": case.conversation.external_id,
        "owner": "ai",
        "by": "agent",
        "note": "Refund done.",
    }


def test_a_push_with_a_field_nobody_declared_is_refused_where_it_is_made() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        CaseUpdated(case_id=1, html="<p>")  # type: ignore[call-arg]


def test_the_agent_is_not_notified_of_a_case_they_took_themselves(
    desk: Desk, listen: Any, django_capture_on_commit_callbacks: Any
) -> None:
    inbox = listen(agent_group(desk.maya.pk))
    with django_capture_on_commit_callbacks(execute=True):
        case_pick(case_id=desk.case.pk, user=desk.maya)

    [assigned] = [m for m in inbox.received() if m["type"] == "case.assigned"]
    assert assigned["notify"] is False
    assert assigned["summary"].startswith(f"Case {desk.case.pk}:")
