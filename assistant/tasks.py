"""The assistant's Celery task. It takes an id and is safe to run twice: a customer message
already answered is not answered again (assistant.services.assistant_reply)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=60,
    time_limit=75,
)
def assistant_reply(conversation_id: int) -> None:
    from assistant.services import assistant_reply as reply

    reply(conversation_id=conversation_id)
