"""The desk's browser sockets. They only push: writes go over HTTP (htmx POSTs). The one
thing browsers send is presence (the heartbeat and the available/away switch).

They are asynchronous: the handshake, group membership and sending never wait for the database
thread, so a team opening the desk together is not served one socket at a time, and a push is
rendered once per view and process (desk/fanout.py) rather than once per socket."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string

from conversations.events import (
    ALL_QUEUES_GROUP,
    SUPERVISORS_GROUP,
    agent_group,
    case_group,
    conversation_group,
    queue_group,
)
from desk.approvals import approvals_fragments
from desk.cards import MINE_COUNT_MARK, queue_context
from desk.control_fragments import agent_status_fragment, alerts_fragment, controls_fragment
from desk.fanout import render_once
from desk.forms import queue_query_parse
from desk.selectors import (
    QueueQuery,
    QueueScope,
    QueueView,
    case_conversation,
    case_notes,
    case_page_context,
    case_transcript,
    queue_holders,
    queue_scope,
)
from escalation.cases.access import (
    CaseNotFound,
    case_access,
    user_fresh,
    user_is_agent,
    user_is_supervisor,
)
from escalation.cases.routing import presence_heartbeat
from escalation.models import Case
from escalation.workload.alerts import alerts_evaluate_due

_BETWEEN_TAGS = re.compile(r">\s+<")


def queue_fragment(*, user: Any, scope: QueueScope, query: QueueQuery) -> str:
    """The queue list as the queue page's socket pushes it. `user` None: the view as every
    agent of the scope's teams sees it (their "Mine" count marked, for each to fill in),
    unless they hold a case of another team (then the list is theirs alone)."""
    context = {**queue_context(user=user, scope=scope, query=query), "oob": True}
    html = render_to_string("desk/queue.html#queue-list", context)
    # Sent to every agent on the queue at each change: the template's indentation would be a
    # quarter of the bytes. HTML shows a run of whitespace between tags as one space (the
    # fragment has no <pre> or <textarea>), so this changes nothing on the page.
    return _BETWEEN_TAGS.sub("> <", html).strip()


class DeskConsumer(AsyncWebsocketConsumer):
    """Common ground: an agent's identity, their personal group and presence."""

    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not await database_sync_to_async(user_is_agent)(user):
            await self.close(code=4403)
            return
        self.user = user
        self.groups_joined = [agent_group(user.pk), *await self._extra_groups()]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        # An open desk page is an agent at work; the page's own heartbeat keeps it so.
        await database_sync_to_async(presence_heartbeat)(user=user)
        await self.resync()
        await self.approvals_changed({})
        # Pushes are lossy: a break or cool-down set while the page was away shows now.
        html = await database_sync_to_async(agent_status_fragment)(
            user_id=user.pk, only_if_set=True
        )
        if html:
            await self.send(text_data=html)

    async def _extra_groups(self) -> list[str]:
        groups = await database_sync_to_async(self.extra_groups)()
        if await database_sync_to_async(user_is_supervisor)(self.user):
            groups.append(SUPERVISORS_GROUP)
        return groups

    # The approvals page's socket also redraws the page's list.
    approvals_list = False

    async def approvals_changed(self, event: dict[str, Any]) -> None:
        """Supervisors' pages: the approvals badge (and list) as they are now."""
        if SUPERVISORS_GROUP not in self.groups_joined:
            return
        with_list = self.approvals_list
        stamp = event.get("stamp")
        if stamp is None:
            html = await database_sync_to_async(approvals_fragments)(with_list=with_list)
        else:
            html = await render_once(
                (stamp, "approvals", with_list),
                lambda: approvals_fragments(with_list=with_list),
            )
        await self.send(text_data=html)

    # Pages that show the supervisor's controls and alerts panels (the console) set this.
    controls_panels = False

    async def workload_changed(self, event: dict[str, Any]) -> None:
        """Something the workload shows changed (a control, a presence, a case): the
        controls panel redraws. Other supervisors' pages show no workload."""
        if not self.controls_panels or SUPERVISORS_GROUP not in self.groups_joined:
            return
        html = await self._shared(event, "controls", lambda: controls_fragment(oob=True))
        await self.send(text_data=html)

    async def alerts_changed(self, event: dict[str, Any]) -> None:
        """Alerts were raised, acknowledged or cleared: the alerts panel redraws, carrying the
        new ones for a browser notification."""
        if not self.controls_panels or SUPERVISORS_GROUP not in self.groups_joined:
            return
        raised = tuple(event.get("raised") or ())
        html = await self._shared(event, "alerts", lambda: alerts_fragment(raised=raised, oob=True))
        await self.send(text_data=html)

    async def agent_status(self, event: dict[str, Any]) -> None:
        """A supervisor set or ended this person's break or cool-down: their status switch
        and status line redraw (the switch must say Away, or its heartbeat would undo it)."""
        html = await database_sync_to_async(agent_status_fragment)(user_id=self.user.pk)
        if html:
            await self.send(text_data=html)

    async def _shared(self, event: dict[str, Any], name: str, work: Any) -> str:
        stamp = event.get("stamp")
        if stamp is None:
            return await database_sync_to_async(work)()
        return await render_once((stamp, name), work)

    def extra_groups(self) -> list[str]:
        """Runs on the database thread."""
        return []

    async def resync(self) -> None:
        """Pushes are lossy: every (re)connect starts by sending the current state."""

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "{}")
        except ValueError:
            return
        if not isinstance(message, dict) or message.get("type") != "heartbeat":
            return
        if not await database_sync_to_async(self._heartbeat)(message.get("presence")):
            await self.close(code=4403)

    def _heartbeat(self, presence: Any) -> bool:
        # Pushes are lossy: the heartbeat also catches an account deactivated meanwhile.
        if not user_is_agent(user_fresh(user_id=self.user.pk)):
            return False
        presence_heartbeat(user=self.user, presence=presence)
        if self.controls_panels and not settings.BATON_ALERTS_FROM_BEAT:
            alerts_evaluate_due()
        return True

    async def agent_access(self, event: dict[str, Any]) -> None:
        """The person's account, role or teams changed: close if they are no longer a desk
        agent; otherwise join the groups they may hear now, leave the others, and resync."""
        user = await database_sync_to_async(user_fresh)(user_id=self.user.pk)
        if user is None or not await database_sync_to_async(user_is_agent)(user):
            await self.close(code=4403)
            return
        self.user = user
        wanted = [agent_group(user.pk), *await self._extra_groups()]
        for group in set(self.groups_joined) - set(wanted):
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in set(wanted) - set(self.groups_joined):
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = wanted
        await self.resync()
        await self.approvals_changed({})

    async def case_assigned(self, event: dict[str, Any]) -> None:
        if event.get("notify", True):
            await self.send(
                text_data=render_to_string(
                    "desk/_notify.html",
                    {
                        "case_id": event["case_id"],
                        "title": "A case is yours now",
                        "body": event.get("summary", ""),
                    },
                )
            )
        await self.case_updated(event)

    async def case_queued(self, event: dict[str, Any]) -> None:
        await self.case_updated(event)

    async def case_updated(self, event: dict[str, Any]) -> None:
        pass


class ControlsConsumer(DeskConsumer):
    """The supervisor's controls page: the controls and alerts panels follow every change."""

    controls_panels = True

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not await database_sync_to_async(user_is_supervisor)(user):
            await self.close(code=4403)
            return
        await super().connect()

    async def resync(self) -> None:
        await self.workload_changed({})
        await self.alerts_changed({})


class ApprovalsConsumer(DeskConsumer):
    """The approvals page: its list follows the approvals waiting for a supervisor."""

    approvals_list = True


class QueueConsumer(DeskConsumer):
    """The queue page's socket. The page's view, filters and page come in its address (the
    same parameters as the page's), so each push redraws what this page shows."""

    queue_scope: QueueScope
    query: QueueQuery

    def extra_groups(self) -> list[str]:
        self.queue_scope = queue_scope(user=self.user)
        params = parse_qsl(self.scope.get("query_string", b"").decode("latin-1"))
        # A bad parameter was already reported by the page; here it is just left out.
        self.query, _ = queue_query_parse(dict(params), scope=self.queue_scope)
        if self.queue_scope.teams is None:
            # A supervisor, who sees every team's queue.
            return [ALL_QUEUES_GROUP]
        return [queue_group(team) for team in self.queue_scope.teams]

    async def resync(self) -> None:
        # Not shared: a socket that has only just joined its groups may have missed the push
        # another socket's render answered.
        html = await database_sync_to_async(queue_fragment)(
            user=self.user, scope=self.queue_scope, query=self.query
        )
        await self.send(text_data=html)

    async def case_updated(self, event: dict[str, Any]) -> None:
        """The whole (bounded) list is re-sent rather than one card, so order and counts stay
        right even when an earlier push was lost. One render per push, team set and query;
        the viewer's own "Mine" count is put in per socket."""
        stamp = event.get("stamp")
        if stamp is None:
            await self.resync()
            return
        scope, query = self.queue_scope, self.query
        holders = await render_once((stamp, "holders"), queue_holders)
        held = holders.get(self.user.pk, {})
        # The teams this view shows whoever holds what: a case held in another is theirs alone.
        seen = scope.own if query.view == QueueView.TEAMS else scope.teams
        viewer = None
        if query.view == QueueView.MINE or (seen is not None and set(held) - set(seen)):
            viewer = self.user
        key = (stamp, scope, query, viewer.pk if viewer else None)
        html = await render_once(key, lambda: queue_fragment(user=viewer, scope=scope, query=query))
        if viewer is None:
            html = html.replace(MINE_COUNT_MARK, str(sum(held.values())), 1)
        await self.send(text_data=html)


# Every fragment of the case page a push may change (the reply box keeps what is typed in it:
# its fields are hx-preserve).
CASE_FRAGMENTS = ("case-head", "transcript", "actions", "reply-box", "wrap-up", "timeline")
# The pushes of one commit (the case's own, its conversation's, the agent's) arrive within a
# few milliseconds of each other: a page waits this long and redraws once for all of them.
COALESCE_SECONDS = 0.05
# A page sends "typing" at most every 3 s while someone types; a few seconds of silence ends it.
TYPING_SECONDS = 6.0


class CaseConsumer(DeskConsumer):
    """A case page: it follows the case and its conversation live. A case has a handful of
    pages open at most, and what each shows depends on its viewer: rendered per socket.

    Pushes only say that something changed. The page redraws every fragment a change may
    touch, once for all the pushes of one commit, so an observer sees the new header,
    transcript and timeline together."""

    case: Case | None
    _redraw: asyncio.Task[None] | None = None
    _dirty: set[str]
    # The other pages open on this case, by channel: who, and until when they type.
    viewers: dict[str, dict[str, Any]]

    async def connect(self) -> None:
        self.case_id = int(self.scope["url_route"]["kwargs"]["case_id"])
        self._dirty = set()
        self.viewers = {}
        await super().connect()

    def extra_groups(self) -> list[str]:
        try:
            self.case = case_access(user=self.user, case_id=self.case_id)
        except CaseNotFound:
            self.case = None
            return []
        return [conversation_group(self.case.conversation_id), case_group(self.case_id)]

    async def disconnect(self, code: int) -> None:
        if self._redraw is not None:
            self._redraw.cancel()
        if getattr(self, "case", None) is not None:
            await self._announce("left")
        await super().disconnect(code)

    # Who else has the case open, and who is typing (a collision warning). Each page tells
    # the case's group when it opens, types and closes; a page that hears of a new one
    # answers it directly, so everyone knows everyone.

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "{}")
        except ValueError:
            return
        if isinstance(message, dict) and message.get("type") == "typing":
            if self.case is not None:
                await self._announce("typing")
            return
        await super().receive(text_data=text_data, bytes_data=bytes_data)

    async def _announce(self, state: str, to: str | None = None) -> None:
        event = {
            "type": "case.viewer",
            "case_id": self.case_id,
            "channel": self.channel_name,
            "user_id": self.user.pk,
            "name": self.user.get_full_name() or self.user.username,
            "state": state,
        }
        if to is None:
            await self.channel_layer.group_send(case_group(self.case_id), event)
        else:
            await self.channel_layer.send(to, event)

    async def case_viewer(self, event: dict[str, Any]) -> None:
        if event.get("channel") == self.channel_name or event.get("case_id") != self.case_id:
            return
        viewers = self.viewers
        if event["state"] == "left":
            viewers.pop(event["channel"], None)
        else:
            typing_until = (
                asyncio.get_running_loop().time() + TYPING_SECONDS
                if event["state"] == "typing"
                else viewers.get(event["channel"], {}).get("typing_until", 0)
            )
            viewers[event["channel"]] = {**event, "typing_until": typing_until}
            if event["state"] == "joined" and self.case is not None:
                await self._announce("viewing", to=event["channel"])
            if event["state"] == "typing":
                asyncio.get_running_loop().call_later(
                    TYPING_SECONDS + 0.1, lambda: asyncio.ensure_future(self._send_viewers())
                )
        await self._send_viewers()

    async def customer_typing(self, event: dict[str, Any]) -> None:
        """The customer types in the chat widget (widget/consumers.py): shown for a few
        seconds after the last keystroke they sent."""
        if event.get("case_id") != self.case_id:
            return
        loop = asyncio.get_running_loop()
        self.customer_typing_until = loop.time() + TYPING_SECONDS
        await self._send_customer_typing()
        loop.call_later(
            TYPING_SECONDS + 0.1, lambda: asyncio.ensure_future(self._send_customer_typing())
        )

    async def _send_customer_typing(self) -> None:
        typing = getattr(self, "customer_typing_until", 0) > asyncio.get_running_loop().time()
        html = render_to_string("desk/_customer_typing.html", {"typing": typing, "oob": True})
        await self.send(text_data=html)

    async def _send_viewers(self) -> None:
        now = asyncio.get_running_loop().time()
        people: dict[int, dict[str, Any]] = {}
        for viewer in self.viewers.values():
            if viewer["user_id"] == self.user.pk:
                continue  # the same person in another tab is no collision
            typing = viewer["typing_until"] > now
            seen = people.get(viewer["user_id"])
            people[viewer["user_id"]] = {
                "name": viewer["name"],
                "typing": typing or bool(seen and seen["typing"]),
            }
        listed = sorted(people.values(), key=lambda v: v["name"])
        html = render_to_string(
            "desk/_case_viewers.html",
            {"viewers": listed, "typing": any(v["typing"] for v in listed)},
        )
        await self.send(text_data=html)

    async def resync(self) -> None:
        # Pushes are lossy: a (re)connect redraws everything, at once.
        if self.case is not None:
            await self._send_or_leave(
                await database_sync_to_async(self._fragments)(set(CASE_FRAGMENTS))
            )
        if self.case is not None:
            await self._announce("joined")

    async def case_updated(self, event: dict[str, Any]) -> None:
        """Someone took, moved, resolved, noted or acted on the case. The agent's own group
        also hears of their other cases: those are not this page's business."""
        if self.case is None or event.get("case_id") != self.case_id:
            return
        self._changed(set(CASE_FRAGMENTS))

    async def conversation_events(self, event: dict[str, Any]) -> None:
        """The transcript grew (a customer's message may come with no change to the case)."""
        if self.case is None:
            return
        self._changed({"transcript"})

    def _changed(self, fragments: set[str]) -> None:
        self._dirty |= fragments
        if self._redraw is None or self._redraw.done():
            self._redraw = asyncio.ensure_future(self._redraw_soon())

    async def _redraw_soon(self) -> None:
        while self._dirty:
            await asyncio.sleep(COALESCE_SECONDS)
            fragments, self._dirty = self._dirty, set()
            if self.case is None:
                return
            await self._send_or_leave(await database_sync_to_async(self._fragments)(fragments))

    def _fragments(self, names: set[str]) -> str | None:
        case = self._visible()
        if case is None:
            return None
        if names == {"transcript"}:
            # Only the transcript changed: read just its events, not the whole workspace.
            context: dict[str, Any] = {
                "conversation": case_conversation(
                    events=case_transcript(case=case), notes=case_notes(case=case)
                ),
                "case": case,
            }
        else:
            context = case_page_context(case=case, user=self.user)
        context["oob"] = True
        return "".join(
            render_to_string(f"desk/case.html#{name}", context)
            for name in CASE_FRAGMENTS
            if name in names
        )

    def _visible(self) -> Case | None:
        try:
            return case_access(user=self.user, case_id=self.case_id)
        except CaseNotFound:
            return None

    async def _send_or_leave(self, html: str | None) -> None:
        """Send the fragment; or, if this person may no longer see the case (moved to a team
        they do not work), say so once and leave the case's groups: the socket hears nothing
        more of the conversation."""
        if html is not None:
            await self.send(text_data=html)
            return
        if self.case is None:
            return
        await self.send(text_data=render_to_string("desk/_case_gone.html", {}))
        for group in self.groups_joined[1:]:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = self.groups_joined[:1]
        self.case = None
