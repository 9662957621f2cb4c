"""The supervisor console at /supervisor/: the queue health strip, the live workload board
(one row per agent, from escalation.workload.board), an agent's detail, and the approvals
inbox. Views parse and render; the numbers come from the selectors. The same partials of
templates/desk/supervisor/board.html are what the console's socket pushes
(desk/consumers.py SupervisorConsumer)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from desk.access import supervisor_required
from desk.approvals import approvals_context
from desk.board_rows import board_row_html, board_rows, html_compact
from desk.control_fragments import alerts_context
from desk.intensity_panel import intensity_context
from escalation.models import Team
from escalation.workload.board import (
    AgentWorkload,
    agent_workload_detail,
    agents_workload,
    workload_policy,
)
from escalation.workload.health import QueueHealth, queue_health

TEMPLATE = "desk/supervisor/board.html"

# How the board may be sorted: the most strained first, except by name.
SORTS: dict[str, tuple[str, Callable[[AgentWorkload], Any], bool]] = {
    "index": ("Index", lambda a: (a.index, a.load, a.name.lower()), True),
    "load": ("Load", lambda a: (a.load, a.open_cases, a.name.lower()), True),
    "occupancy": ("Occupancy", lambda a: (a.occupancy or 0.0, a.index, a.name.lower()), True),
    "name": ("Name", lambda a: (a.name.lower(), a.user_id), False),
}


@dataclass(frozen=True)
class BoardQuery:
    """The board's sort and team filter, as the page's address (and its socket's) has them."""

    sort: str = "index"
    team: str = ""

    def querystring(self, **changes: str) -> str:
        values = {"sort": self.sort, "team": self.team, **changes}
        kept = {k: v for k, v in values.items() if v and not (k == "sort" and v == "index")}
        return f"?{urlencode(kept)}" if kept else ""


def board_query_parse(params: Mapping[str, str], *, teams: set[str] | None = None) -> BoardQuery:
    """Unknown sorts fall back to the index, unknown teams to every team."""
    sort = params.get("sort", "")
    team = params.get("team", "")
    if teams is None:
        teams = set(Team.objects.values_list("slug", flat=True))
    return BoardQuery(sort=sort if sort in SORTS else "index", team=team if team in teams else "")


# The last whole board this process read for each team filter. A change that names its
# agents (a presence, a customer writing on a held case) reads just their rows and puts them
# into it; the others stay as read, for at most BOARD_REFRESH, after which any change reads
# the whole board again (so do every case change and every page load).
BOARD_REFRESH = timedelta(seconds=60)
_boards: dict[str, tuple[datetime, dict[int, AgentWorkload]]] = {}


_health: list[QueueHealth] = []


def board_health(*, now: datetime, user_ids: Collection[int] = ()) -> QueueHealth:
    """The health strip. A change that names its agents changed no case: the strip's case
    figures are taken from this process's last reading (as recent as board_agents' board),
    only who is online is read anew."""
    last = _health[0] if _health else None
    if user_ids and last is not None and now - last.now < BOARD_REFRESH:
        return queue_health(now=now, cases_as_of=last)
    health = queue_health(now=now)
    _health[:] = [health]
    return health


def board_agents(
    *, query: BoardQuery, now: datetime | None = None, user_ids: Collection[int] = ()
) -> list[AgentWorkload]:
    """The board's rows, sorted. With `user_ids`, only those agents' rows are read anew (when
    this process has a recent whole board to put them in)."""
    now = now or timezone.now()
    team = query.team
    cached = _boards.get(team)
    if user_ids and cached is not None and now - cached[0] < BOARD_REFRESH:
        agents = dict(cached[1])
        for user_id in user_ids:
            detail = agent_workload_detail(user_id=user_id, now=now)
            if detail is None or (team and team not in detail.row.teams):
                agents.pop(user_id, None)
            else:
                agents[user_id] = detail.row
        _boards[team] = (cached[0], agents)
    else:
        agents = {a.user_id: a for a in agents_workload(now=now, team=team or None)}
        _boards[team] = (now, agents)
    _, key, descending = SORTS[query.sort]
    return sorted(agents.values(), key=key, reverse=descending)


def _sort_links(query: BoardQuery) -> list[dict[str, Any]]:
    base = reverse("desk:supervisor")
    return [
        {
            "label": label,
            "href": base + query.querystring(sort=name),
            "current": name == query.sort,
        }
        for name, (label, _, _) in SORTS.items()
    ]


def board_context(
    *, query: BoardQuery, now: datetime | None = None, user_ids: Collection[int] = ()
) -> dict[str, Any]:
    """What the board partial and the health strip show. `rows`: (BoardRow, its HTML) in the
    board's order. `user_ids`: see board_agents."""
    now = now or timezone.now()
    teams = list(Team.objects.order_by("name").values_list("slug", "name"))
    base = reverse("desk:supervisor")
    policy = workload_policy()
    rows = board_rows(
        board_agents(query=query, now=now, user_ids=user_ids),
        now=now,
        query_string=query.querystring(),
        hard_after=policy.recovery_after_hard,
    )
    return {
        "query": query,
        "now": now,
        "rows": rows,
        # One string: a template loop over 200 rows costs more than the rows' cache lookups.
        "rows_html": SafeString(" ".join(html for _, html in rows)),
        "health": board_health(now=now, user_ids=user_ids),
        "policy": policy,
        "teams": teams,
        "team_name": dict(teams).get(query.team, ""),
        "sort_links": _sort_links(query),
        "team_links": [
            {
                "label": "All teams",
                "href": base + query.querystring(team=""),
                "current": not query.team,
            },
            *(
                {
                    "label": name,
                    "href": base + query.querystring(team=slug),
                    "current": slug == query.team,
                }
                for slug, name in teams
            ),
        ],
        "ws_path": "/ws/desk/supervisor/" + query.querystring(),
        "detail_qs": query.querystring(),
    }


def _panels() -> dict[str, Any]:
    """The console's other panels: approvals, alerts and intensification (the controls
    panel comes with the socket's first frame, or when scrolled to)."""
    return {
        **approvals_context(),
        **alerts_context(),
        **intensity_context(),
    }


@supervisor_required
def supervisor_board(request: HttpRequest) -> HttpResponse:
    """The console. For htmx, just the board (a sort or team chosen)."""
    query = board_query_parse(request.GET)
    context = board_context(query=query)
    if request.htmx:
        return TemplateResponse(request, f"{TEMPLATE}#board", context)
    return TemplateResponse(request, TEMPLATE, {**context, **_panels()})


@supervisor_required
def supervisor_agent(request: HttpRequest, user_id: int) -> HttpResponse:
    """One agent's cases, shift timeline and the parts of their index: the console with the
    detail open, or (htmx, from a click on the board) just the detail."""
    detail = agent_workload_detail(user_id=user_id)
    if detail is None:
        raise Http404("No such agent.")
    query = board_query_parse(request.GET)
    close_href = reverse("desk:supervisor") + query.querystring()
    if request.htmx:
        return TemplateResponse(
            request, f"{TEMPLATE}#agent-detail", {"detail": detail, "close_href": close_href}
        )
    context = {**board_context(query=query), **_panels()}
    return TemplateResponse(
        request, TEMPLATE, {**context, "detail": detail, "close_href": close_href}
    )


# What the console's socket pushes.


@dataclass(frozen=True)
class BoardPush:
    """The board as one change leaves it, rendered once for every socket with this query:
    each row alone (a socket sends the rows that differ from what it last sent) and the
    whole board (sent instead when the rows' order or number changed)."""

    order: tuple[int, ...]
    rows: dict[int, str]
    board: str
    strip: str


def board_push(*, query: BoardQuery, user_ids: Collection[int] = ()) -> BoardPush:
    context = {**board_context(query=query, user_ids=user_ids), "oob": True}
    # The same rows' HTML for pushing one alone (each cached once, as the board's are).
    alone = {row.user_id: board_row_html(row, oob=True) for row, _ in context["rows"]}
    return BoardPush(
        order=tuple(row.user_id for row, _ in context["rows"]),
        rows=alone,
        board=html_compact(render_to_string(f"{TEMPLATE}#board", context)),
        strip=html_compact(render_to_string(f"{TEMPLATE}#health-strip", context)),
    )
