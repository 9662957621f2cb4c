"""What a person does on a case: greet, reply, note, and approve or reject drafted actions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from actions.catalog import TOOLS
from actions.models import DraftedAction
from actions.policy import Decision
from actions.selectors import conversation_account_id
from actions.services import (
    action_check,
    action_draft,
    action_refused,
    drafted_action_approve,
    drafted_action_reject,
)
from conversations.events import (
    SUPERVISORS_GROUP,
    ApprovalsChanged,
    CaseUpdated,
    case_group,
    queue_send_on_commit,
    send_on_commit,
)
from conversations.models import Conversation, Event
from conversations.services import conversation_message_add
from escalation.cases.access import (
    CaseClosed,
    case_access,
    user_actor,
    user_is_supervisor,
    user_name,
)
from escalation.models import Case, CaseEvent, Team


def greeting_intro(*, name: str, team: Team | None, supervisor: bool) -> str:
    """How a person introduces themselves to the customer: by what they are, never a title they
    do not hold ("I'm Leo from the support team", "I'm Rita, a support supervisor")."""
    if supervisor:
        return f"I'm {name}, a support supervisor"
    if team is None or team.slug == "general":
        return f"I'm {name} from the support team"
    return f"I'm {name} from the {team.name.lower()} team"


def warm_greeting_text(
    *, agent_name: str, customer_first_name: str = "", intro: str = "", previous: str = ""
) -> str:
    """The customer's first words from a person on this case (BATON_WARM_GREETING), or, when
    it changes hands after that, from the next one (BATON_HANDOVER_GREETING, with the
    `previous` agent's name)."""
    name = "BATON_HANDOVER_GREETING" if previous else "BATON_WARM_GREETING"
    template = getattr(settings, name, "")
    return template.format(
        agent=agent_name,
        customer=customer_first_name or "there",
        intro=intro or f"I'm {agent_name}",
        previous=previous,
    )


def case_greeted(*, timeline: list[CaseEvent]) -> bool:
    """Whether the customer has been greeted on this case (from its timeline)."""
    return any(t.kind == CaseEvent.Kind.GREETED for t in timeline)


def case_greet(*, case: Case, user: Any) -> Event | None:
    """`user`, who holds the case, has it in front of them: the customer hears who they are
    talking to. Once per case and agent: an agent taking a case back is not introduced twice,
    and one taking over after someone else greeted says so. Call holding the case row lock."""
    if case.status != Case.Status.ASSIGNED or case.assignee_id != user.pk:
        return None
    # The customer met whoever greeted on the case this one continues, too.
    greetings = list(
        CaseEvent.objects.filter(
            case_id__in=[case.pk, case.follows_id] if case.follows_id else [case.pk],
            kind=CaseEvent.Kind.GREETED,
        ).order_by("at", "id")
    )
    if any(g.actor_id == user.pk for g in greetings):
        return None
    previous = greetings[-1].data.get("name", "") if greetings else ""
    # of=self: PostgreSQL cannot lock the nullable side of the outer join to the customer.
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=case.conversation_id)
    )
    first_name = ""
    if conversation.customer and conversation.customer.name:
        first_name = conversation.customer.name.split()[0]
    name = user_name(user)
    intro = greeting_intro(
        name=name,
        team=Team.objects.filter(slug=case.team).first(),
        supervisor=user_is_supervisor(user),
    )
    text = warm_greeting_text(
        agent_name=name, customer_first_name=first_name, intro=intro, previous=previous
    )
    if not text.strip():
        # Greetings are switched off (an empty BATON_WARM_GREETING): the agent greets by hand.
        return None
    event = conversation_message_add(
        conversation=conversation, role="agent", text=text, author=name
    )
    CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.GREETED,
        actor=user,
        data={"name": name, "event": event.pk, **({"after": previous} if previous else {})},
    )
    return event


def case_opened(*, case: Case, user: Any) -> Event | None:
    """The case page was opened by `user`: if they hold the case and have not greeted the
    customer yet, they do now (not on assignment: a customer is greeted by someone who looks).
    Costs one query when there is nothing to do."""
    if case.status != Case.Status.ASSIGNED or case.assignee_id != user.pk:
        return None
    if CaseEvent.objects.filter(
        case_id__in=[case.pk, case.follows_id] if case.follows_id else [case.pk],
        kind=CaseEvent.Kind.GREETED,
        actor_id=user.pk,
    ).exists():
        return None
    with transaction.atomic():
        locked = (
            (Case.objects.select_for_update(of=("self",)).select_related("assignee"))
            .filter(pk=case.pk)
            .first()
        )
        return case_greet(case=locked, user=user) if locked is not None else None


@transaction.atomic
def case_reply(*, case_id: int, user: Any, text: str) -> Event:
    case = case_access(user=user, case_id=case_id, lock=True, to_work=True)
    # Nobody answers a customer without saying who they are first.
    case_greet(case=case, user=user)
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


# How the timeline reads an approval the policy held for a supervisor.
HELD_STATUS = "held for a supervisor"


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
    if drafted.held_at is not None or result.held_at is not None:
        # Held for a supervisor now, or decided after it was: their approvals list changed.
        send_on_commit(SUPERVISORS_GROUP, ApprovalsChanged())
    held = result.held_at is not None and result.held_at != drafted.held_at
    if result.changed or held:
        status = HELD_STATUS if held and not result.changed else result.status
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.ACTION,
            actor=user,
            data={"tool": result.tool, "status": status, "action": result.pk},
        )
    return result


def _startable(tool: str) -> bool:
    spec = TOOLS.get(tool)
    return spec is not None and spec.consequential


def case_action_preview(*, case_id: int, user: Any, tool: str, args: dict[str, Any]) -> Decision:
    """What the policy would decide if this person started the action now, for the case's
    customer. Reads only: nothing runs and nothing is audited; the policy decides again when
    it runs."""
    case = case_access(user=user, case_id=case_id, to_work=True)
    if not _startable(tool):
        return Decision("deny", ["unknown_tool"])
    account_id = conversation_account_id(conversation=case.conversation)
    if not account_id:
        return Decision("deny", ["no_customer"])
    return action_check(
        actor=user_actor(user),
        tool=tool,
        args=args,
        account_id=account_id,
        conversation_id=case.conversation_id,
    )


@transaction.atomic
def case_action_start(
    *, case_id: int, user: Any, tool: str, args: dict[str, Any], note: str = ""
) -> DraftedAction | Decision:
    """A person starts a catalog action for the case's customer: recorded as a drafted action
    they started, then approved by them on the same path as a draft (policy at execution,
    exactly once, audited). Acts only for the customer the conversation is about; another
    customer's order or account is refused (other_customer). A refusal before anything is
    made (no customer, the policy denies) is audited and returned, and no draft is left."""
    case = case_access(user=user, case_id=case_id, lock=True, to_work=True)
    actor = user_actor(user)
    account_id = conversation_account_id(conversation=case.conversation) or ""
    if not _startable(tool):
        refusal = Decision("deny", ["unknown_tool"])
    elif not account_id:
        refusal = Decision("deny", ["no_customer"])
    else:
        refusal = action_check(
            actor=actor,
            tool=tool,
            args=args,
            account_id=account_id,
            conversation_id=case.conversation_id,
        )
    if refusal.outcome == "deny":
        action_refused(
            actor=actor,
            user=user,
            tool=tool,
            args=args,
            decision=refusal,
            account_id=account_id,
            conversation=case.conversation,
            case=case,
        )
        return refusal
    drafted = action_draft(
        tool=tool,
        args=args,
        drafted_by=actor,
        account_id=account_id,
        conversation=case.conversation,
        case=case,
        started_by=user,
    )
    send_on_commit(case_group(case.pk), CaseUpdated(case_id=case.pk))
    result = drafted_action_approve(drafted_id=drafted.pk, user=user, actor=actor, note=note)
    if result.held_at is not None:
        send_on_commit(SUPERVISORS_GROUP, ApprovalsChanged())
    status = result.status
    if status == DraftedAction.Status.DRAFTED:
        status = HELD_STATUS if result.held_at is not None else "refused"
    CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.ACTION,
        actor=user,
        data={"tool": result.tool, "status": f"started, {status}", "action": result.pk},
    )
    return result
