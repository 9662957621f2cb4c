"""The desk's browser sockets. They only push: writes go over HTTP (htmx POSTs). The one
thing browsers send is presence (the heartbeat and the available/away switch)."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import WebsocketConsumer
from django.template.loader import render_to_string

from conversations.events import (
    ALL_QUEUES_GROUP,
    agent_group,
    case_group,
    conversation_group,
    queue_group,
)
from desk.cards import queue_cards
from desk.selectors import (
    case_page_context,
    case_transcript,
    queue_count,
    queue_for_agent,
)
from escalation.cases.access import (
    CaseNotFound,
    agent_teams,
    case_access,
    user_fresh,
    user_is_agent,
)
from escalation.cases.routing import presence_heartbeat
from escalation.models import Case


class DeskConsumer(WebsocketConsumer):
    """Common ground: an agent's identity, their personal group and presence."""

    def connect(self) -> None:
        user = self.scope.get("user")
        if not user_is_agent(user):
            self.close(code=4403)
            return
        self.user = user
        self.groups_joined = [agent_group(user.pk), *self.extra_groups()]
        for group in self.groups_joined:
            async_to_sync(self.channel_layer.group_add)(group, self.channel_name)
        self.accept()
        # An open desk page is an agent at work; the page's own heartbeat keeps it so.
        presence_heartbeat(user=user)
        self.resync()

    def extra_groups(self) -> list[str]:
        return []

    def resync(self) -> None:
        """Pushes are lossy: every (re)connect starts by sending the current state."""

    def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "{}")
        except ValueError:
            return
        if isinstance(message, dict) and message.get("type") == "heartbeat":
            # Pushes are lossy: the heartbeat also catches an account deactivated meanwhile.
            if not user_is_agent(user_fresh(user_id=self.user.pk)):
                self.close(code=4403)
                return
            presence_heartbeat(user=self.user, presence=message.get("presence"))

    def agent_access(self, event: dict[str, Any]) -> None:
        """The person's account, role or teams changed: close if they are no longer a desk
        agent; otherwise join the groups they may hear now, leave the others, and resync."""
        user = user_fresh(user_id=self.user.pk)
        if user is None or not user_is_agent(user):
            self.close(code=4403)
            return
        self.user = user
        wanted = [agent_group(user.pk), *self.extra_groups()]
        for group in set(self.groups_joined) - set(wanted):
            async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)
        for group in set(wanted) - set(self.groups_joined):
            async_to_sync(self.channel_layer.group_add)(group, self.channel_name)
        self.groups_joined = wanted
        self.resync()

    def case_assigned(self, event: dict[str, Any]) -> None:
        if event.get("notify", True):
            self.send(
                text_data=render_to_string(
                    "desk/_notify.html",
                    {
                        "case_id": event["case_id"],
                        "title": "A case is yours now",
                        "body": event.get("summary", ""),
                    },
                )
            )
        self.case_updated(event)

    def case_queued(self, event: dict[str, Any]) -> None:
        self.case_updated(event)

    def case_updated(self, event: dict[str, Any]) -> None:
        pass


class QueueConsumer(DeskConsumer):
    def extra_groups(self) -> list[str]:
        # None: a supervisor, who sees every team's queue.
        self.teams = agent_teams(user=self.user)
        if self.teams is None:
            return [ALL_QUEUES_GROUP]
        return [queue_group(team) for team in self.teams]

    def resync(self) -> None:
        self._send_queue()

    def case_updated(self, event: dict[str, Any]) -> None:
        # The whole (bounded) list is re-sent rather than one card, so order and counts stay
        # right even when an earlier push was lost.
        self._send_queue()

    def _send_queue(self) -> None:
        context = {
            "cases": queue_cards(queue_for_agent(user=self.user, teams=self.teams)),
            "total": queue_count(user=self.user, teams=self.teams),
            "oob": True,
        }
        self.send(text_data=render_to_string("desk/queue.html#queue-list", context))


class CaseConsumer(DeskConsumer):
    """A case page: its transcript follows the conversation live."""

    def connect(self) -> None:
        self.case_id = int(self.scope["url_route"]["kwargs"]["case_id"])
        super().connect()

    def extra_groups(self) -> list[str]:
        try:
            self.case = case_access(user=self.user, case_id=self.case_id)
        except CaseNotFound:
            self.case = None
            return []
        return [conversation_group(self.case.conversation_id), case_group(self.case_id)]

    def resync(self) -> None:
        self.conversation_events({})

    def case_updated(self, event: dict[str, Any]) -> None:
        """Someone took, moved, resolved or acted on the case: redraw what that changes (the
        reply box is left alone, so nothing the agent is typing is lost). The agent's own
        group also hears of their other cases: those are not this page's business."""
        if self.case is None or event.get("case_id") != self.case_id:
            return
        case = self._case_still_visible()
        if case is None:
            return
        context = {**case_page_context(case=case, user=self.user), "oob": True}
        self.send(
            text_data="".join(
                render_to_string(f"desk/case.html#{name}", context)
                for name in ("case-head", "actions", "wrap-up", "timeline")
            )
        )

    def _case_still_visible(self) -> Case | None:
        """The case, if this person may still see it. If not (moved to a team they do not
        work), the page says so once and the socket leaves the case's groups: it hears
        nothing more of the conversation."""
        try:
            return case_access(user=self.user, case_id=self.case_id)
        except CaseNotFound:
            self.send(text_data=render_to_string("desk/_case_gone.html", {}))
            for group in self.groups_joined[1:]:
                async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)
            self.groups_joined = self.groups_joined[:1]
            self.case = None
            return None

    def conversation_events(self, event: dict[str, Any]) -> None:
        if self.case is None or self._case_still_visible() is None:
            return
        # Only the transcript changes here: read just its events, not the whole workspace.
        transcript = {"events": case_transcript(case=self.case)}
        self.send(
            text_data=render_to_string(
                "desk/case.html#transcript", {"w": transcript, "case": self.case, "oob": True}
            )
        )
