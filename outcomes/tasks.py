"""Celery tasks of the outcomes app. They take ids, import their services inside their bodies,
and are safe to run twice: a refresh recomputes a contact from the record."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=20,
    time_limit=30,
)
def refresh_contacts(conversation_ids: list[int]) -> int:
    from outcomes.services import contacts_refresh

    return contacts_refresh(conversation_ids=conversation_ids)


@shared_task(soft_time_limit=50, time_limit=60)
def sweep_contacts() -> dict[str, int]:
    from outcomes.services import contacts_sweep

    return contacts_sweep()
