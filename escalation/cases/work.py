"""What a person does on a case: greet, reply, note, and approve or reject drafted actions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from actions.models import DraftedAction
from actions.services import drafted_action_approve, drafted_action_reject
from conversations.events import CaseUpdated, case_group, queue_send_on_commit, send_on_commit
from conversations.models import Conversation, Event
from conversations.services import conversation_message_add
from escalation.cases.access import CaseClosed, case_access, user_actor, user_name
from escalation.models import Case, CaseEvent


def warm_greeting_text(*, agent_name: str, customer_first_name: str = "") -> str:
    template = getattr(settings, "BATON_WARM_GREETING", "")
    return template.format(agent=agent_name, customer=customer_first_name or "there")


def case_greet(*, case: Case) -> Event:
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
    return conversation_message_add(
        conversation=conversation,
        role="agent",
        text=warm_greeting_text(agent_name=user_name(user), customer_first_name=first_name),
        author=user_name(user),
    )


@transaction.atomic
def case_reply(*, case_id: int, user: Any, text: str) -> Event:
    case = case_access(user=user, case_id=case_id, lock=True, to_work=True)
    conversation = Conversation.objects.select_for_update().get(pk=case.conversation_id)
    event = conversation_message_add(
        conversation=conversation, role="agent", text=text, author=user_name(user)
    )
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.REPLY, actor=user, data={"event": event.pk}
    )
    if case.first_response_at is None:
        case.first_response_at = timezone.now()
        case.save(update_fields=["first_response_at"])
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.FIRST_RESPONSE, actor=user)
    # Its open pages redraw the header and timeline with the transcript; the queue's card
    # loses its first-reply deadline.
    queue_send_on_commit(case.team, CaseUpdated(case_id=case.pk))
    return event


@transaction.atomic
def case_note(*, case_id: int, user: Any, text: str) -> CaseEvent:
    """An internal note; anyone who may see the case may add one while it is open."""
    case = case_access(user=user, case_id=case_id, lock=True)
    if case.status == Case.Status.RESOLVED:
        raise CaseClosed("This case is resolved.")
    send_on_commit(case_group(case.pk), CaseUpdated(case_id=case.pk))
    return CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.NOTE, actor=user, data={"text": text}
    )


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
    agent or a supervisor, while the case is open. The case's timeline records the outcome."""
    case = case_access(user=user, case_id=case_id, lock=True, to_work=True)
    drafted = DraftedAction.objects.filter(
        pk=drafted_id, conversation_id=case.conversation_id
    ).first()
    if drafted is None:
        raise DraftedAction.DoesNotExist("No such action on this case.")
    if drafted.case_id is None:
        # Drafted before the case opened: it belongs to this case's timeline now.
        DraftedAction.objects.filter(pk=drafted.pk, case__isnull=True).update(case=case)
    send_on_commit(case_group(case.pk), CaseUpdated(case_id=case.pk))
    actor = user_actor(user)
    if approve:
        result = drafted_action_approve(
            drafted_id=drafted.pk, user=user, actor=actor, args=args, note=note
        )
    else:
        result = drafted_action_reject(drafted_id=drafted.pk, user=user, actor=actor, note=note)
    if result.changed:
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.ACTION,
            actor=user,
            data={"tool": result.tool, "status": result.status, "action": result.pk},
        )
    return result
