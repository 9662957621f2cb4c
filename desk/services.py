"""What agents do on a case: reply, note, act, transfer, resolve or hand back; and presence."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from actions.models import DraftedAction
from actions.services import drafted_action_approve, drafted_action_reject
from conversations.events import (
    agent_group,
    case_group,
    conversation_group,
    integration_group,
    queue_send_on_commit,
    send_on_commit,
)
from conversations.models import Conversation, Event
from conversations.schemas import ControlOut
from desk.access import user_is_supervisor
from desk.models import AgentProfile, Team
from escalation.models import Case, CaseEvent
from escalation.routing import case_requeue, warm_greeting_text


class CaseClosed(Exception):
    """The case is resolved; nothing more can be done on it."""


class NotYourCase(Exception):
    """Only the agent who holds the case (or a supervisor) may do that."""


def _agent_name(user: Any) -> str:
    return user.get_full_name() or user.username


def conversation_say(*, conversation: Conversation, text: str, user: Any) -> Event:
    """Store an agent's message in the conversation and send it on the customer's channel as a
    protocol `message` frame, after commit. Call holding the conversation row lock."""
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(last_seq=F("last_seq") + 1)
    conversation.refresh_from_db(fields=["last_seq"])
    event_id = f"desk-{uuid.uuid4().hex}"
    payload = {
        "type": "message",
        "id": event_id,
        "conversation": conversation.external_id,
        "seq": conversation.last_seq,
        "at": now.isoformat().replace("+00:00", "Z"),
        "role": "agent",
        "text": text,
        "agent": _agent_name(user),
    }
    event = Event.objects.create(
        integration_id=conversation.integration_id,
        conversation=conversation,
        event_id=event_id,
        seq=conversation.last_seq,
        type=Event.Type.MESSAGE,
        role="agent",
        text=text,
        payload=payload,
        at=now,
    )
    frame = {k: payload[k] for k in ("type", "conversation", "role", "text", "id", "at")}
    send_on_commit(
        integration_group(conversation.integration_id),
        {"type": "conversation.message", "frame": frame},
    )
    send_on_commit(conversation_group(conversation.pk), {"type": "conversation.events"})
    return event


def warm_greeting_send(*, case: Case) -> None:
    """Tell the customer who has their conversation now. Call holding the case row lock."""
    user = case.assignee
    # of=self: PostgreSQL cannot lock the nullable side of the outer join to the customer.
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=case.conversation_id)
    )
    first_name = ""
    if conversation.customer and conversation.customer.name:
        first_name = conversation.customer.name.split()[0]
    conversation_say(
        conversation=conversation,
        text=warm_greeting_text(agent_name=_agent_name(user), customer_first_name=first_name),
        user=user,
    )


def _case_locked(case_id: int) -> Case:
    case = (
        Case.objects.select_for_update(of=("self",)).select_related("conversation").get(pk=case_id)
    )
    if case.status == Case.Status.RESOLVED:
        raise CaseClosed("This case is resolved.")
    return case


def _case_for_work(case_id: int, user: Any) -> Case:
    """Lock a case that `user` may work on: theirs, or any open case for a supervisor."""
    case = _case_locked(case_id)
    if case.assignee_id == user.pk and case.status == Case.Status.ASSIGNED:
        return case
    if user_is_supervisor(user):
        return case
    if case.assignee_id is None:
        raise NotYourCase("Take the case first, so the customer knows who they are talking to.")
    raise NotYourCase(
        f"{_agent_name(case.assignee)} has this case. Ask them or a supervisor to transfer it."
    )


@transaction.atomic
def case_reply(*, case_id: int, user: Any, text: str) -> Event:
    case = _case_for_work(case_id, user)
    conversation = Conversation.objects.select_for_update().get(pk=case.conversation_id)
    event = conversation_say(conversation=conversation, text=text, user=user)
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.REPLY, actor=user, data={"event": event.pk}
    )
    if case.first_response_at is None:
        case.first_response_at = timezone.now()
        case.save(update_fields=["first_response_at"])
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.FIRST_RESPONSE, actor=user)
    return event


@transaction.atomic
def case_note(*, case_id: int, user: Any, text: str) -> CaseEvent:
    case = _case_locked(case_id)
    send_on_commit(case_group(case.pk), {"type": "case.changed"})
    return CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.NOTE, actor=user, data={"text": text}
    )


@transaction.atomic
def case_transfer(
    *, case_id: int, user: Any, note: str, team: str = "", agent_id: int | None = None
) -> Case:
    """Send the case to another team's queue, or straight to another agent, with a note."""
    from escalation.routing import _assign, transfer_refusal

    case = _case_for_work(case_id, user)
    if agent_id:
        target = (
            AgentProfile.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(user_id=agent_id, user__is_active=True)
            .first()
        )
        if target is None:
            raise ValueError("No agent to transfer to: they may have left the desk.")
        if agent_id == case.assignee_id:
            raise ValueError("The case is already theirs.")
        refusal = transfer_refusal(
            case=case, profile=target, by_supervisor=user_is_supervisor(user)
        )
        if refusal:
            raise ValueError(refusal)
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.TRANSFER,
            actor=user,
            data={"to_agent": agent_id, "note": note},
        )
        if case.assignee_id:
            send_on_commit(
                agent_group(case.assignee_id), {"type": "case.updated", "case_id": case.pk}
            )
        case.status = Case.Status.QUEUED
        _assign(case=case, user_id=target.user_id, by=user, auto=False)
        return case
    if not Team.objects.filter(slug=team).exists():
        raise ValueError(f"No team {team!r}.")
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.TRANSFER, actor=user, data={"to_team": team, "note": note}
    )
    old_team = case.team
    case.team = team
    case.save(update_fields=["team"])
    case_requeue(case=case, reason=f"transferred to {team}", by=user)
    queue_send_on_commit(old_team, {"type": "case.updated", "case_id": case.pk})
    return case


@transaction.atomic
def case_resolve(*, case_id: int, user: Any, outcome: str, note: str = "") -> Case:
    """Close the case. Handing back to the AI tells the platform, with a short context note."""
    case = _case_for_work(case_id, user)
    if outcome not in Case.Outcome.values:
        raise ValueError(f"Unknown outcome {outcome!r}.")
    conversation = Conversation.objects.select_for_update().get(pk=case.conversation_id)
    now = timezone.now()
    case.status = Case.Status.RESOLVED
    case.outcome = outcome
    case.resolved_at = now
    case.save(update_fields=["status", "outcome", "resolved_at"])
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.RESOLVED, actor=user, data={"outcome": outcome, "note": note}
    )
    if outcome == Case.Outcome.HANDED_BACK:
        conversation.owner = Conversation.Owner.AI
        conversation.save(update_fields=["owner", "updated_at"])
        frame = ControlOut(
            conversation=conversation.external_id, owner="ai", by="agent"
        ).model_dump()
        frame["note"] = note[:2000]
        send_on_commit(
            integration_group(conversation.integration_id),
            {"type": "conversation.control", "frame": frame},
        )
    queue_send_on_commit(case.team, {"type": "case.updated", "case_id": case.pk})
    return case


@transaction.atomic
def case_action_decide(
    *,
    case_id: int,
    drafted_id: int,
    user: Any,
    approve: bool,
    args: dict[str, Any] | None = None,
    note: str = "",
) -> DraftedAction:
    """Approve (and run) or reject an action drafted for a case's conversation, as the case's
    agent or a supervisor, while the case is open."""
    case = _case_for_work(case_id, user)
    drafted = DraftedAction.objects.filter(
        pk=drafted_id, conversation_id=case.conversation_id
    ).first()
    if drafted is None:
        raise DraftedAction.DoesNotExist("No such action on this case.")
    if drafted.case_id is None:
        # Drafted before the case opened: it belongs to this case's timeline now.
        DraftedAction.objects.filter(pk=drafted.pk, case__isnull=True).update(case=case)
    send_on_commit(case_group(case.pk), {"type": "case.changed"})
    if approve:
        return drafted_action_approve(drafted_id=drafted.pk, user=user, args=args, note=note)
    return drafted_action_reject(drafted_id=drafted.pk, user=user, note=note)


def presence_heartbeat(*, user: Any, presence: str | None = None) -> None:
    """The desk socket's heartbeat: keeps the agent online, or away if they said so. Without a
    stated presence (a page connecting) an away agent stays away; an offline one comes online."""
    current = (
        AgentProfile.objects.filter(user_id=user.pk).values_list("presence", flat=True).first()
    )
    if current is None:
        return
    if presence in AgentProfile.Presence.values:
        wanted = presence
    elif current == AgentProfile.Presence.AWAY:
        wanted = AgentProfile.Presence.AWAY
    else:
        wanted = AgentProfile.Presence.ONLINE
    came_online = wanted == AgentProfile.Presence.ONLINE and current != wanted
    AgentProfile.objects.filter(user_id=user.pk).update(
        presence=wanted, last_seen_at=timezone.now()
    )
    if came_online:
        # Someone with room just arrived: queued cases may go to them now.
        from escalation.services import enqueue_on_commit
        from escalation.tasks import auto_assign

        enqueue_on_commit(auto_assign)


def presence_away(*, user: Any) -> None:
    AgentProfile.objects.filter(user_id=user.pk).update(presence=AgentProfile.Presence.OFFLINE)
