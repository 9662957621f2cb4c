"""How the guardrail pages write a rule's condition and a limit's value."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import template

register = template.Library()


@register.filter
def json_compact(value: Any) -> str:
    """A condition on one line, as a supervisor would type it (escaped by the template)."""
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


@register.filter
def limit_value(value: Any, field: str) -> str:
    """A limit as the policy reads it: empty is no limit (an amount), any age, or off."""
    if field == "may_write":
        return "yes" if value else "no, read only"
    if value is None or value == "":
        return "any age" if field == "max_subscription_age_days" else "no limit"
    if field == "max_subscription_age_days":
        return f"{value} days"
    return f"${Decimal(value):,.2f}"


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)
