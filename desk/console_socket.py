"""The supervisor console's socket (/ws/desk/supervisor/): the health strip, the workload
board, the approvals inbox, the controls and alerts panels and the team-intensification
panel follow every change, redrawn once per burst."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any
from urllib.parse import parse_qsl

from channels.db import database_sync_to_async

from conversations.events import ALL_QUEUES_GROUP, SUPERVISORS_GROUP
from desk.approvals import approvals_fragments
from desk.consumers import COALESCE_SECONDS, DeskConsumer
from desk.control_fragments import alerts_fragment, controls_fragment
from desk.fanout import burst_end, render_once
from desk.intensity_panel import intensity_fragment
from desk.supervisor import BoardPush, board_push, board_query_parse
from escalation.cases.access import user_is_supervisor

# Team intensification reads a month of contacts: redrawn with the board at most this often.
INTENSITY_EVERY_SECONDS = 60
# The controls panel follows case and presence changes at most this often; a control's own
# push redraws it at once.
CONTROLS_EVERY_SECONDS = 5


class SupervisorConsumer(DeskConsumer):
    """The supervisor console (/supervisor/): its health strip, workload board and approvals
    inbox follow every change. It hears each case change (the all-queues group), the
    workload pushes (presence, a customer's message on a held case) and the approvals.

    A burst of changes (one transfer is several pushes; a busy desk is many a second) is
    redrawn once, COALESCE_SECONDS after its first push, and each burst's board is rendered
    once per process and query for every console socket (desk/fanout.py). A socket sends the
    rows that differ from what it sent last, or the whole board when its order changed."""

    controls_panels = True
    _redraw: asyncio.Task[None] | None = None
    _dirty: set[str]
    _rows: dict[int, str]
    _order: tuple[int, ...]
    _strip: str
    _controls: str = ""
    _intensity: str = ""
    _intensity_at: float = 0.0
    _controls_at: float = 0.0
    # What the pending board redraw must read: every row, or just these agents'.
    _whole: bool
    _agents: set[int]

    async def connect(self) -> None:
        self._dirty, self._rows, self._order, self._strip = set(), {}, (), ""
        self._whole, self._agents = False, set()
        params = parse_qsl(self.scope.get("query_string", b"").decode("latin-1"))
        self.board_params = dict(params)
        user = self.scope.get("user")
        if not await database_sync_to_async(user_is_supervisor)(user):
            await self.close(code=4403)
            return
        await super().connect()

    def extra_groups(self) -> list[str]:
        self.query = board_query_parse(self.board_params)
        return [ALL_QUEUES_GROUP]

    async def disconnect(self, code: int) -> None:
        if self._redraw is not None:
            self._redraw.cancel()
        await super().disconnect(code)

    async def agent_access(self, event: dict[str, Any]) -> None:
        await super().agent_access(event)
        if SUPERVISORS_GROUP not in self.groups_joined:
            await self.close(code=4403)

    async def resync(self) -> None:
        # Not shared: a socket that has only just joined may have missed a burst's render.
        if SUPERVISORS_GROUP not in self.groups_joined:
            return
        push = await database_sync_to_async(board_push)(query=self.query)
        approvals = await database_sync_to_async(approvals_fragments)(with_list=True)
        self._controls = await database_sync_to_async(controls_fragment)(oob=True)
        self._controls_at = time.monotonic()
        alerts = await database_sync_to_async(alerts_fragment)(oob=True)
        self._intensity = await database_sync_to_async(intensity_fragment)(oob=True)
        self._intensity_at = time.monotonic()
        alerts += self._intensity
        self._rows, self._order, self._strip = dict(push.rows), push.order, push.strip
        await self.send(text_data=push.strip + push.board + approvals + self._controls + alerts)

    async def approvals_changed(self, event: dict[str, Any]) -> None:
        # Without a stamp: the (re)connect's, which resync already answered.
        if "stamp" in event:
            self._changed("approvals")

    async def case_updated(self, event: dict[str, Any]) -> None:
        self._changed("board")

    async def workload_changed(self, event: dict[str, Any]) -> None:
        if not event.get("user_ids"):
            # A control's push (or anything's): the controls panel redraws with this burst.
            self._controls_at = 0.0
        self._changed("board", user_ids=event.get("user_ids") or None)

    def _changed(self, part: str, *, user_ids: list[int] | None = None) -> None:
        """`user_ids`: a board change that is only these agents' (None: anyone's)."""
        if part == "board" and user_ids is None:
            self._whole = True
        elif part == "board":
            self._agents |= set(user_ids)
        self._dirty.add(part)
        if self._redraw is None or self._redraw.done():
            self._redraw = asyncio.ensure_future(self._redraw_soon())

    async def _redraw_soon(self) -> None:
        while self._dirty:
            burst = await burst_end(COALESCE_SECONDS)
            parts, self._dirty = self._dirty, set()
            agents = () if self._whole else tuple(sorted(self._agents))
            self._whole, self._agents = False, set()
            html = ""
            if "board" in parts:
                push = await render_once(
                    (burst, "board", self.query, agents),
                    functools.partial(board_push, query=self.query, user_ids=agents),
                )
                html += self._board_changes(push)
            if "approvals" in parts:
                html += await render_once(
                    (burst, "approvals"), functools.partial(approvals_fragments, with_list=True)
                )
            if html:
                await self.send(text_data=html)
            if "board" in parts:
                # The slow panels after the board, in a frame of their own, so they never
                # hold back the rows.
                slow = await self._slow_panels(burst)
                if slow:
                    await self.send(text_data=slow)

    async def _slow_panels(self, burst: object) -> str:
        """The intensification and controls panels, each at most as often as it is worth."""
        html = ""
        now = time.monotonic()
        if now - self._intensity_at >= INTENSITY_EVERY_SECONDS:
            self._intensity_at = now
            intensity = await render_once(
                (burst, "intensity"), functools.partial(intensity_fragment, oob=True)
            )
            if intensity != self._intensity:
                html += intensity
                self._intensity = intensity
        if now - self._controls_at >= CONTROLS_EVERY_SECONDS:
            # The panel lists every agent's forms and the open cases: a busy desk's every
            # case change would redraw it many times a second.
            self._controls_at = now
            controls = await render_once(
                (burst, "controls"), functools.partial(controls_fragment, oob=True)
            )
            if controls != self._controls:
                html += controls
                self._controls = controls
        return html

    def _board_changes(self, push: BoardPush) -> str:
        """What this socket's page lacks of the board `push`: the strip if it changed, then
        the rows that changed, or the whole board if the rows' order or number did."""
        html = push.strip if push.strip != self._strip else ""
        if push.order != self._order:
            html += push.board
        else:
            html += "".join(row for agent, row in push.rows.items() if self._rows.get(agent) != row)
        self._rows, self._order, self._strip = dict(push.rows), push.order, push.strip
        return html
