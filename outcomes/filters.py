"""The filters every report takes: a range of days (by the day a contact ended, UTC), and
optionally a topic, a team and a customer tier."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone

DEFAULT_DAYS = 30
# The dates a report may ask about, and the longest range (a range draws one bar per day or
# week: ten years of weeks is already a long chart).
EARLIEST = date(2000, 1, 1)
MAX_DAYS = 3660
_RELATIVE = re.compile(r"^(\d{1,4})d$")


def _day(value: str, *, today: date, name: str) -> date:
    """'2026-11-04', or '30d': the last 30 days, today included (so today minus 29)."""
    value = value.strip()
    if match := _RELATIVE.match(value):
        days = int(match.group(1))
        if days < 1:
            raise ValueError(f"{name}: {value!r} is not a positive number of days")
        if days > MAX_DAYS:
            raise ValueError(f"{name}: {value!r} is more than {MAX_DAYS} days")
        return today - timedelta(days=days - 1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}: {value!r} is neither a date (YYYY-MM-DD) nor Nd") from None


@dataclass(frozen=True)
class Filters:
    """Contacts that ended between `since` and `until` (both included, UTC days)."""

    since: date
    until: date
    topic: str = ""
    team: str = ""
    tier: str = ""

    def __post_init__(self) -> None:
        latest = timezone.now().date() + timedelta(days=366)
        for name, value in (("since", self.since), ("until", self.until)):
            if not EARLIEST <= value <= latest:
                raise ValueError(f"{name}: {value} is outside {EARLIEST} to {latest}")
        if self.until < self.since:
            raise ValueError(f"until ({self.until}) is before since ({self.since})")
        if self.days > MAX_DAYS:
            raise ValueError(f"the range is {self.days} days; at most {MAX_DAYS}")
        for name in ("topic", "team", "tier"):
            if "\x00" in getattr(self, name):
                raise ValueError(f"{name}: holds a NUL character")

    @classmethod
    def from_query(cls, query: Mapping[str, Any], *, today: date | None = None) -> Filters:
        """From a QueryDict or a dict: since (a date or 'Nd', default 30d), until (a date or
        'Nd', default today), topic, team, tier. Raises ValueError on a value it cannot read."""
        today = today or timezone.now().date()

        def text(key: str) -> str:
            value = query.get(key) or ""
            return str(value).strip()

        since = _day(text("since"), today=today, name="since") if text("since") else None
        until = _day(text("until"), today=today, name="until") if text("until") else today
        if since is None:
            if until < EARLIEST + timedelta(days=DEFAULT_DAYS):
                raise ValueError(f"until: {until} is before {EARLIEST}")
            since = until - timedelta(days=DEFAULT_DAYS - 1)
        return cls(
            since=since, until=until, topic=text("topic"), team=text("team"), tier=text("tier")
        )

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def as_dict(self) -> dict[str, str]:
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items()}

    def as_query(self) -> str:
        """The query string that gives these filters back (empty ones left out)."""
        return urlencode({k: v for k, v in self.as_dict().items() if v})
