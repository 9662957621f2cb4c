"""The workload board's rows as the console shows them: each agent's figures written out
(durations, shares, levels, the sparkline's points) in a frozen, hashable BoardRow, and its
HTML rendered from the `agent-row` partial once per distinct row.

Why the cache: Django's template engine takes about a millisecond a row, so 200 rows would
spend most of the board's budget rendering, again at every push. A row's text changes only
when one of its shown figures does (to the minute), so between two renders almost every row
is the same string: it is rendered once and reused (bounded, least recently used)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.template.loader import get_template
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

from desk.templatetags.supervisor_tags import above, index_points, minutes, percent
from escalation.workload.board import AgentWorkload

ROW_TEMPLATE = "desk/supervisor/board.html#agent-row"
# Room for a few hundred agents' rows in several states each, and several sorts.
ROW_CACHE_SIZE = 4096
_BETWEEN_TAGS = re.compile(r">\s+<")


@dataclass(frozen=True)
class BoardRow:
    user_id: int
    name: str
    teams: str
    detail_href: str
    presence: str
    presence_label: str
    presence_note: str
    cases: str
    full: bool
    load: str
    negative: str
    upset: str
    hard_run: int
    hard_warn: bool
    since_easy: str
    since_break: str
    occupancy: str
    occupancy_level: str
    handle: str
    handle_median: str
    handle_slower: bool
    first_reply: str
    first_reply_median: str
    first_reply_slower: bool
    index: int
    index_level: str
    spark_points: str
    spark_label: str


def board_row(
    a: AgentWorkload, *, now: datetime, detail_base: str, query_string: str, hard_after: int
) -> BoardRow:
    notes = []
    if a.presence_since is not None:
        notes.append(f"for {minutes((now - a.presence_since).total_seconds() / 60)}")
    if a.away_reason:
        notes.append(a.away_reason)
    if a.cooldown_until is not None and a.cooldown_until > now:
        notes.append(f"cool-down to {localtime(a.cooldown_until):%H:%M}")
    return BoardRow(
        user_id=a.user_id,
        name=a.name,
        teams=", ".join(a.teams) or "no team",
        detail_href=f"{detail_base}{a.user_id}/{query_string}",
        presence=a.presence,
        presence_label=a.presence.title(),
        presence_note=" · ".join(notes),
        cases=f"{a.open_cases}/{a.capacity}",
        full=a.open_cases >= a.capacity,
        load=f"{a.load:.1f}",
        negative=percent(a.negative_share),
        upset=minutes(a.upset_minutes),
        hard_run=a.hard_run,
        hard_warn=a.hard_run >= hard_after,
        since_easy=minutes(a.minutes_since_easy),
        since_break=minutes(a.minutes_since_break),
        occupancy=percent(a.occupancy),
        occupancy_level=a.occupancy_level or "ok",
        handle=minutes(a.handle_minutes),
        handle_median=minutes(a.handle_median_30d),
        handle_slower=above(a.handle_minutes, a.handle_median_30d),
        first_reply=minutes(a.first_reply_minutes),
        first_reply_median=minutes(a.first_reply_median_30d),
        first_reply_slower=above(a.first_reply_minutes, a.first_reply_median_30d),
        index=a.index,
        index_level=a.index_level or "ok",
        spark_points=index_points(a.sparkline),
        spark_label=", ".join(str(v) for v in a.sparkline),
    )


@lru_cache(maxsize=ROW_CACHE_SIZE)
def board_row_html(row: BoardRow, *, oob: bool = False) -> SafeString:
    """The row's HTML; `oob` for a push of the row alone (an out-of-band swap)."""
    return html_compact(get_template(ROW_TEMPLATE).render({"r": row, "row_oob": oob}))


def html_compact(html: str) -> SafeString:
    """Pushed to every console at each change, the template's indentation is dead weight: a
    run of blanks between tags shows as one. Only for the board and the strip, which hold no
    <pre> or <textarea> (the inbox's textarea is sent as it is)."""
    return SafeString(_BETWEEN_TAGS.sub("> <", html).strip())


def board_rows(
    agents: list[AgentWorkload],
    *,
    now: datetime,
    query_string: str,
    hard_after: int,
    oob: bool = False,
) -> list[tuple[BoardRow, SafeString]]:
    base = reverse("desk:supervisor") + "agents/"
    return [
        (row, board_row_html(row, oob=oob))
        for row in (
            board_row(
                a, now=now, detail_base=base, query_string=query_string, hard_after=hard_after
            )
            for a in agents
        )
    ]
