"""The LLM's handoff packet, raced against the handoff budget.

A case never waits on the LLM: prepare_case waits at most BATON_LLM_HANDOFF_BUDGET seconds. If
the LLM answers in time its packet goes out with the case; otherwise the case is queued with
the embedded packet and the LLM's replaces it when it arrives.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import cache
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction

from conversations.events import CaseUpdated, queue_send_now
from conversations.models import Event

# One tool call in the transcript the LLM reads, at most this long.
MAX_TOOL_LINE = 500

logger = logging.getLogger(__name__)

_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="baton-llm")


@cache
def _backend() -> Any:
    from escalation.llm import LlmBackend

    return LlmBackend()


def _turns(case_id: int) -> list[tuple[str, str]]:
    from escalation.models import Case

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


def llm_packet_merge(*, embedded: dict[str, Any], llm: Any) -> dict[str, Any]:
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


def _run(case_id: int, embedded: dict[str, Any]) -> dict[str, Any]:
    try:
        llm = _backend().packet(turns=_turns(case_id), facts=_facts(embedded))
        return llm_packet_merge(embedded=embedded, llm=llm)
    finally:
        connection.close()


def _store_late(case_id: int, future: Future) -> None:
    """The LLM answered after the case was queued: store its packet as a new version."""
    from escalation.models import Case, HandoffPacket

    try:
        data = future.result()
    except Exception as exc:
        logger.warning("LLM packet for case %s not built: %s", case_id, exc)
        return
    try:
        close_old_connections()
        with transaction.atomic():
            case = Case.objects.select_for_update().filter(pk=case_id).first()
            if case is None or case.packets.filter(backend=HandoffPacket.Backend.LLM).exists():
                return
            version = case.packets.count() + 1
            HandoffPacket.objects.create(case=case, version=version, backend="llm", data=data)
            team = case.team
        queue_send_now(team, CaseUpdated(case_id=case_id))
    finally:
        connection.close()


def llm_packet_start(*, case_id: int, embedded: dict[str, Any]) -> dict[str, Any] | None:
    """Ask the LLM for the case's packet; return it if it comes within the budget."""
    future = _executor.submit(_run, case_id, embedded)
    budget = float(getattr(settings, "BATON_LLM_HANDOFF_BUDGET", 3.0))
    try:
        return future.result(timeout=budget)
    except FutureTimeout:
        future.add_done_callback(lambda done: _store_late(case_id, done))
        return None
    except Exception as exc:
        logger.warning("LLM packet for case %s not built: %s", case_id, exc)
        return None
