"""Celery tasks of the escalation engine and the case lifecycle. They take ids, and running one
twice changes nothing. Services import this module at the top; tasks import services inside
their bodies (HackSoft's rule), so the two never import each other at load time."""

from __future__ import annotations

from typing import Any

import openai
from celery import Task, shared_task
from celery.signals import worker_ready
from django.db import OperationalError


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=20,
    time_limit=30,
)
def analyze_conversation(conversation_id: int) -> None:
    from escalation.cases.lifecycle import conversation_analyze
    from escalation.services import analysis_started

    analysis_started(conversation_id=conversation_id)
    conversation_analyze(conversation_id=conversation_id)


class _PrepareCase(Task):
    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        from escalation.cases.lifecycle import case_prepare_failed

        case_prepare_failed(case_id=args[0] if args else kwargs["case_id"])


@shared_task(
    base=_PrepareCase,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=20,
    time_limit=30,
)
def prepare_case(case_id: int) -> None:
    from escalation.cases.lifecycle import case_prepare

    case_prepare(case_id=case_id)


class _BuildLlmPacket(Task):
    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        from escalation.llm_packets import llm_packet_failed

        case_id = args[0] if args else kwargs["case_id"]
        llm_packet_failed(case_id=case_id, error=f"{type(exc).__name__}: {exc}")


# One try is one `LlmBackend.packet()`: up to (BATON_LLM_MAX_RETRIES + 1) requests of at most
# BATON_LLM_TIMEOUT each, with the client's backoff between them (about 35 s at the defaults).
@shared_task(
    base=_BuildLlmPacket,
    autoretry_for=(
        OperationalError,
        openai.APIConnectionError,
        openai.APITimeoutError,
        openai.RateLimitError,
        openai.InternalServerError,
    ),
    retry_backoff=True,
    retry_backoff_max=120,
    max_retries=3,
    soft_time_limit=60,
    time_limit=75,
)
def build_llm_packet(case_id: int) -> None:
    from escalation.llm_packets import llm_packet_build

    llm_packet_build(case_id=case_id)


@shared_task(soft_time_limit=30, time_limit=45)
def resume_work() -> dict[str, int]:
    from escalation.cases.lifecycle import work_resume

    return work_resume()


@worker_ready.connect
def _resume_when_a_worker_starts(**_: Any) -> None:
    # The worker that died held tasks of its own; a restarted one picks their work up at once.
    resume_work.delay()


@shared_task(soft_time_limit=20, time_limit=30)
def sweep_cases() -> dict[str, int]:
    from escalation.cases.lifecycle import cases_sweep

    return cases_sweep()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def auto_assign() -> int:
    from escalation.cases.routing import cases_auto_assign

    return cases_auto_assign()


@shared_task(soft_time_limit=60, time_limit=90)
def purge_execution_requests() -> int:
    from escalation.ai_actions import execution_requests_purge

    return execution_requests_purge()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def evaluate_alerts() -> int:
    from escalation.workload.alerts import alerts_evaluate

    result = alerts_evaluate()
    return len(result.raised)
