from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from escalation.models import Case
from escalation.selectors import case_queue

QUEUE_PAGE_SIZE = 200


def queue_for_agent(*, user: AbstractBaseUser) -> QuerySet[Case]:
    """The open cases an agent sees on the queue page, most urgent first."""
    return case_queue()[:QUEUE_PAGE_SIZE]
