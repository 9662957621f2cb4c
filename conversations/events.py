"""Realtime fan-out. Services never broadcast inside a transaction: they call send_on_commit
with one of the typed events below (as Zulip's event_types.py): a push nobody declared, or
one with a field it does not declare, fails where it is made, not in a browser."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from pydantic import BaseModel, ConfigDict, Field

from conversations.schemas import ControlOut, MessageOut

logger = logging.getLogger(__name__)


class _Push(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntegrationRevoked(_Push):
    """To the integration's sockets: their token no longer works."""

    type: Literal["integration.revoked"] = "integration.revoked"


class ConversationControl(_Push):
    """To the integration's sockets: the conversation's owner changed."""

    type: Literal["conversation.control"] = "conversation.control"
    frame: ControlOut


class ConversationMessage(_Push):
    """To the integration's sockets: a person at the desk wrote to the customer."""

    type: Literal["conversation.message"] = "conversation.message"
    frame: MessageOut


class ConversationEvents(_Push):
    """To the conversation's open case pages: the transcript grew."""

    type: Literal["conversation.events"] = "conversation.events"


class CaseQueued(_Push):
    type: Literal["case.queued"] = "case.queued"
    case_id: int


class CaseUpdated(_Push):
    """Anything about the case changed: queues redraw, its open pages redraw."""

    type: Literal["case.updated"] = "case.updated"
    case_id: int


class CaseAssigned(_Push):
    """To the agent who holds the case now; `notify` unless they took it themselves."""

    type: Literal["case.assigned"] = "case.assigned"
    case_id: int
    notify: bool
    summary: Annotated[str, Field(max_length=160)]


class ApprovalsChanged(_Push):
    """To the supervisors' sockets: an action was held for a supervisor's approval, or one
    held was decided; the approvals badge (and list) redraw."""

    type: Literal["approvals.changed"] = "approvals.changed"


class WorkloadChanged(_Push):
    """To the supervisors' sockets: something a workload board shows changed (a case held or
    let go, a presence, a customer's message on a held case, a supervisor's control); the
    board and the controls redraw."""

    type: Literal["workload.changed"] = "workload.changed"
    # The agents whose row changed, when the change is theirs alone (a presence, a customer's
    # message on a case they hold); empty: anything may have changed.
    user_ids: list[int] = Field(default_factory=list, max_length=500)


class AgentAccessChanged(_Push):
    """To the person's own sockets: their account, role or teams changed; what they may see
    is worked out again (a deactivated account's sockets close)."""

    type: Literal["agent.access"] = "agent.access"


class AlertsChanged(_Push):
    """To the supervisors' sockets: alerts were raised, acknowledged or cleared; `raised`
    names the new ones (a browser notification for those who opted in)."""

    type: Literal["alerts.changed"] = "alerts.changed"
    raised: list[int] = []


class AgentStatusChanged(_Push):
    """To the agent's own sockets: a supervisor set or cleared their cool-down or break;
    their status area redraws."""

    type: Literal["agent.status"] = "agent.status"


class WidgetQueueChanged(_Push):
    """To a customer's widget: the queue their case waits in moved (a case of the same agents
    queued, taken or resolved); the widget reads its position and wait again
    (escalation.cases.estimate.wait_estimate). Carries no figures: pushes are lossy, and the
    estimate is read fresh."""

    type: Literal["widget.queue"] = "widget.queue"
    case_id: int


class WidgetChanged(_Push):
    """To a customer's widget: its conversation's record grew (a message, a handoff, the
    close); the widget reads what it has not shown (widget/events.py sends it)."""

    type: Literal["widget.changed"] = "widget.changed"


Push = (
    AgentAccessChanged
    | AgentStatusChanged
    | AlertsChanged
    | WorkloadChanged
    | ApprovalsChanged
    | WorkloadChanged
    | IntegrationRevoked
    | ConversationControl
    | ConversationMessage
    | ConversationEvents
    | CaseQueued
    | CaseUpdated
    | CaseAssigned
    | WidgetQueueChanged
    | WidgetChanged
)


def integration_group(integration_id: int) -> str:
    return f"integration.{integration_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def queue_group(team: str) -> str:
    return f"queue.{team}"


# Supervisors watch every queue, including teams created after their page opened.
ALL_QUEUES_GROUP = "queue-all"


def agent_group(user_id: int) -> str:
    return f"agent.{user_id}"


# Every supervisor's desk pages: approvals waiting for them.
SUPERVISORS_GROUP = "supervisors"


def case_group(case_id: int) -> str:
    """The open pages of one case: told when anything about the case changes."""
    return f"case.{case_id}"


def widget_conversation_group(conversation_id: int) -> str:
    """The customer's widget sockets of one conversation."""
    return f"widget.conversation.{conversation_id}"


# The integration Baton's own widget writes as (the assistant creates it on demand): only its
# conversations have a customer watching the queue.
WIDGET_INTEGRATION_NAME = "baton-widget"


def widget_integration_name() -> str:
    """Its name, as the assistant reads it (assistant/selectors.py: BATON_WIDGET_INTEGRATION
    overrides the default)."""
    return getattr(settings, "BATON_WIDGET_INTEGRATION", WIDGET_INTEGRATION_NAME)


def send_now(group: str, event: Push) -> None:
    message = event.model_dump(mode="json", exclude_none=True)
    # Names this one group send: the sockets of a process that receive it render what it
    # changes once between them (desk/fanout.py), not once each.
    message["stamp"] = uuid.uuid4().hex
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # The channel layer is lossy by design: clients re-fetch on reconnect, so a failed push
        # must not fail the write that caused it.
        logger.exception("push to %s failed", group)


class _CommitPushes:
    """The pushes of one transaction, each (group, event) once, sent together after commit: a
    transfer that requeues, reassigns and tells two teams redraws each page once."""

    def __init__(self) -> None:
        self.pushes: dict[tuple[str, str], tuple[str, Push]] = {}
        self.collected: dict[str, tuple[Callable[[set[str]], None], set[str]]] = {}
        self.flushed = False

    def add(self, group: str, event: Push) -> None:
        self.pushes.setdefault((group, event.model_dump_json()), (group, event))

    def collect(self, key: str, items: set[str], run: Callable[[set[str]], None]) -> None:
        self.collected.setdefault(key, (run, set()))[1].update(items)

    def flush(self) -> None:
        self.flushed = True
        pushes, self.pushes = self.pushes, {}
        collected, self.collected = self.collected, {}
        for group, event in pushes.values():
            send_now(group, event)
        for run, items in collected.values():
            try:
                run(items)
            except Exception:
                # Like a push: lossy, never failing the write that caused it.
                logger.exception("after-commit fan-out failed")


def _commit_pushes() -> _CommitPushes | None:
    """This transaction's pushes, or None outside a transaction.

    A transaction is the outermost atomic block, or (in a test, whose TestCase wraps it in
    blocks of its own) the outermost block the code under test opened: a savepoint with a
    name of its own. A batch is reused only while its flush still waits for that commit (not
    run, not dropped by a rollback)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return None
    depth = next(
        (
            n
            for n, block in enumerate(connection.atomic_blocks)
            if not getattr(block, "_from_testcase", False)
        ),
        None,
    )
    if depth is None:
        return None
    scope = (depth, connection.savepoint_ids[depth - 1] if depth else None)
    current: tuple[Any, _CommitPushes] | None = getattr(connection, "baton_commit_pushes", None)
    if current is not None:
        current_scope, batch = current
        if (
            current_scope == scope
            and not batch.flushed
            and any(entry[1] == batch.flush for entry in connection.run_on_commit)
        ):
            return batch
    batch = _CommitPushes()
    connection.baton_commit_pushes = (scope, batch)
    transaction.on_commit(batch.flush)
    return batch


def send_on_commit(group: str, event: Push) -> None:
    """Push `event` to `group` once the current transaction commits (at once outside one).
    The same push twice in one transaction is sent once."""
    batch = _commit_pushes()
    if batch is None:
        transaction.on_commit(lambda: send_now(group, event))
    else:
        batch.add(group, event)


def collect_on_commit(key: str, items: set[str], run: Callable[[set[str]], None]) -> None:
    """Call `run` once after the current transaction commits, with every item collected under
    `key` in it (at once outside one): a fan-out that must read the database, such as the
    widgets of a queue that moved, runs one read per transaction, not one per change."""
    batch = _commit_pushes()
    if batch is None:
        transaction.on_commit(lambda: run(set(items)), robust=True)
    else:
        batch.collect(key, items, run)


def enqueue_on_commit(task: Any, *args: Any) -> None:
    """Run a Celery task after commit. In-process (embedded) a failing task is logged, never
    raised into the request that committed."""
    transaction.on_commit(lambda: task.delay(*args), robust=True)


def queue_send_now(team: str, event: CaseQueued | CaseUpdated) -> None:
    """Tell the team's queue pages, every supervisor's, and the case's own open pages, that a
    case changed."""
    send_now(queue_group(team), event)
    send_now(ALL_QUEUES_GROUP, event)
    send_now(case_group(event.case_id), CaseUpdated(case_id=event.case_id))


def queue_send_on_commit(team: str, event: CaseQueued | CaseUpdated) -> None:
    send_on_commit(queue_group(team), event)
    send_on_commit(ALL_QUEUES_GROUP, event)
    send_on_commit(case_group(event.case_id), CaseUpdated(case_id=event.case_id))


# The record tells the layers above it what happened, after commit, without importing them:
# the escalation engine listens (escalation/apps.py) and analyses the conversations. Sent with
# `conversation_ids` (every conversation that got events) and `urgent` (those handed off).
events_stored = Signal()


def events_stored_on_commit(*, conversation_ids: list[int], urgent: list[int]) -> None:
    if conversation_ids:
        transaction.on_commit(
            lambda: events_stored.send(
                sender=None, conversation_ids=conversation_ids, urgent=urgent
            ),
            robust=True,
        )
