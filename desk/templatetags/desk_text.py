"""Words for the desk's codes: what a person reads instead of `delivery_delay`."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def topic_label(value: str | None) -> str:
    """A topic or team slug as words: "delivery_delay" reads "Delivery delay"; none, "Other"."""
    words = " ".join(str(value or "").replace("_", " ").replace("-", " ").split())
    return words[:1].upper() + words[1:] if words else "Other"
