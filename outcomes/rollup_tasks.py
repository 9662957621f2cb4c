"""The rollups' Celery task, apart from outcomes/tasks.py (the contacts' tasks). Beat runs it
every minute (CELERY_BEAT_SCHEDULE); the embedded default runs `manage.py outcomes_sweep`
instead. Safe to run twice: a refresh rebuilds whole days, and two at once take different
days on PostgreSQL."""

from __future__ import annotations

from celery import shared_task

# Days rebuilt per run, within the task's time limits; the rest wait for the next run.
DAYS_PER_RUN = 62


@shared_task
def refresh_rollups() -> int:
    from outcomes.rollups import rollups_refresh

    return rollups_refresh(max_days=DAYS_PER_RUN)
