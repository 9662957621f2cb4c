from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def is_future(value: Any) -> bool:
    """Whether a moment (a cool-down's end) has yet to come."""
    return isinstance(value, datetime) and value > timezone.now()
