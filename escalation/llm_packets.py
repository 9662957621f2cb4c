"""The LLM's handoff packet, raced against the handoff budget.

A case never waits long on the LLM. `case_prepare` asks it once, synchronously, with a client
whose timeout is BATON_LLM_HANDOFF_BUDGET and which does not retry: if the packet comes in time
it goes out with the case. Otherwise the case is queued with the embedded packet, and the
`build_llm_packet` task (escalation/tasks.py), enqueued when the queueing commits, asks again,
with retries, and stores the LLM's packet as the next version.

Why no thread for the bounded wait: a thread that misses the budget cannot be stopped, only
abandoned, so it would keep the HTTP request (and the model's tokens) running for an answer no
one stores, and whatever it did next would run outside any worker's retries and time limits. A
client timeout cuts the request at the budget and leaves nothing behind; everything after it is
the task's, which survives a worker restart (acks_late) and is safe to run twice. The timeout
bounds each of connecting, sending and each read, so a server that trickles its answer could
hold the case a little longer than the budget; a model that thinks long, the usual case, cannot.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

import openai
from django.conf import settings
from django.db import IntegrityError, transaction

from conversations.events import CaseUpdated, enqueue_on_commit, queue_send_on_commit
from conversations.models import Event
from escalation import tasks
from escalation.llm import LlmBackend, LlmPacket, LlmUnavailable
from escalation.models import Case, CaseEvent, HandoffPacket

# One tool call in the transcript the LLM reads, at most this long.
MAX_TOOL_LINE = 500
# What llm_packet_failed keeps of the error, on the case's timeline.
MAX_ERROR = 200

logger = logging.getLogger(__name__)


@cache
def _backend(timeout: float | None = None) -> LlmBackend:
    """The shared client; with `timeout`, one that gives up after that long and never retries."""
    if timeout is None:
        return LlmBackend()
    return LlmBackend(timeout=timeout, max_retries=0)


def _turns(case_id: int) -> list[tuple[str, str]]:
    conversation_id = Case.objects.values_list("conversation_id", flat=True).get(pk=case_id)
    rows = Event.objects.filter(
        conversation_id=conversation_id, type__in=["message", "tool_call"]
    ).order_by("seq", "id")
    return [(e.role, e.text) if e.type == "message" else ("tool", _tool_line(e)) for e in rows]


def _tool_line(event: Event) -> str:
    """A tool call as one transcript line: what the AI tried, and what came of it."""
    payload = event.payload
    line = f"{payload.get('tool', '')} {json.dumps(payload.get('args') or {}, sort_keys=True)}"
    line += f" -> {payload.get('status', '')}"
    if payload.get("result") is not None:
        line += f": {json.dumps(payload['result'], sort_keys=True)}"
    return line[:MAX_TOOL_LINE]


def llm_packet_merge(*, embedded: dict[str, Any], llm: LlmPacket) -> dict[str, Any]:
    """The LLM's words over the embedded packet's facts. Links, orders, drafted actions, risk
    and reasons stay the engine's own: nothing the model says is taken as a fact."""
    summary = dict(embedded["summary"])
    summary.update(
        text=llm.summary,
        customer_wants=llm.customer_wants,
        still_open=llm.still_open,
        customer_feeling=llm.customer_feeling,
        ai_said=llm.ai_tried,
    )
    return {
        **embedded,
        "backend": "llm",
        "summary": summary,
        "sentiment": {**embedded["sentiment"], "llm": llm.sentiment},
        "llm_topic": llm.topic,
        "llm_entities": [e.model_dump() for e in llm.entities],
        "suggested_reply": llm.suggested_reply,
    }


def _facts(embedded: dict[str, Any]) -> dict[str, Any]:
    return {
        "customer": embedded.get("customer"),
        "orders": embedded.get("orders"),
        "reasons": embedded.get("reasons"),
        "topic": embedded.get("topic"),
        "ai_tried": embedded.get("summary", {}).get("ai_tried"),
        "policy": "Promise no refund, credit, amount or date: the agent decides after checking.",
    }


def llm_packet_within_budget(*, case_id: int, embedded: dict[str, Any]) -> dict[str, Any] | None:
    """The LLM's packet if it answers within BATON_LLM_HANDOFF_BUDGET, else None (the backend
    has logged why). Call outside any transaction: no row stays locked while the LLM thinks."""
    budget = float(getattr(settings, "BATON_LLM_HANDOFF_BUDGET", 3.0))
    try:
        llm = _backend(budget).packet(turns=_turns(case_id), facts=_facts(embedded))
        return llm_packet_merge(embedded=embedded, llm=llm)
    except LlmUnavailable:
        return None
    except Exception:
        # A customer is waiting: the embedded packet goes out, and the task tries again.
        logger.exception("LLM packet of case %s not built within the budget", case_id)
        return None


def llm_packet_later(*, case_id: int) -> None:
    """Build the case's LLM packet in a task, once the current transaction commits. Call in the
    transaction that queues the case with its embedded packet."""
    enqueue_on_commit(tasks.build_llm_packet, case_id)


def llm_packet_build(*, case_id: int) -> HandoffPacket | None:
    """Ask the LLM for the packet of a case queued with its embedded one, and store it as the
    next version. Safe to run twice: a case that is gone, resolved, has no embedded packet to
    improve or already has an LLM one is left alone, and the (case, backend) constraint stops
    a second packet that a concurrent run would store.

    Raises the `openai` client's own error when the LLM call failed on one (the task retries
    the transient ones), and `LlmUnavailable` when the answer was unusable.
    """
    case = Case.objects.filter(pk=case_id).exclude(status=Case.Status.RESOLVED).first()
    if case is None or case.packets.filter(backend=HandoffPacket.Backend.LLM).exists():
        return None
    embedded = (
        case.packets.filter(backend=HandoffPacket.Backend.EMBEDDED)
        .values_list("data", flat=True)
        .first()
    )
    if embedded is None:
        return None
    try:
        llm = _backend().packet(turns=_turns(case_id), facts=_facts(embedded))
    except LlmUnavailable as exc:
        if isinstance(exc.__cause__, openai.OpenAIError):
            # The task tells a timeout or a 503 from a 400 by the client's own error class.
            raise exc.__cause__ from None
        raise
    return _llm_packet_store(case_id=case_id, data=llm_packet_merge(embedded=embedded, llm=llm))


def _llm_packet_store(*, case_id: int, data: dict[str, Any]) -> HandoffPacket | None:
    try:
        with transaction.atomic():
            case = Case.objects.select_for_update().filter(pk=case_id).first()
            if case is None or case.packets.filter(backend=HandoffPacket.Backend.LLM).exists():
                return None
            last = case.packets.order_by("-version").values_list("version", flat=True).first()
            packet = HandoffPacket.objects.create(
                case=case, version=(last or 0) + 1, backend=HandoffPacket.Backend.LLM, data=data
            )
            queue_send_on_commit(case.team, CaseUpdated(case_id=case_id))
    except IntegrityError:
        return None
    return packet


@transaction.atomic
def llm_packet_failed(*, case_id: int, error: str) -> None:
    """The LLM packet could not be built, retries and all. The case keeps its embedded packet
    and stays where it is; the failure is logged and shown once on the case's timeline."""
    logger.error("LLM packet of case %s not built: %s", case_id, error)
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if (
        case is None
        or case.packets.filter(backend=HandoffPacket.Backend.LLM).exists()
        or case.timeline.filter(kind=CaseEvent.Kind.LLM_PACKET_FAILED).exists()
    ):
        return
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.LLM_PACKET_FAILED, data={"error": error[:MAX_ERROR]}
    )
    queue_send_on_commit(case.team, CaseUpdated(case_id=case_id))
