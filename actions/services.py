"""Running actions: check, execute (policy at execution time, rows locked), drafts and audit."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from actions.catalog import tool_parse
from actions.models import Actor, AuditEntry, AuthorityLimit, DraftedAction
from actions.policy import (
    DISCRETIONARY_REFUNDS,
    ActionState,
    Decision,
    PolicyContext,
    limited_amount,
    policy_evaluate,
)
from actions.reads import read_run
from actions.selectors import conversation_account_id
from store.models import Customer, Order, PaymentMethod, Subscription, Variant


class RejectionWithoutReason(ValueError):
    """A drafted action is rejected with a reason, or not at all."""


@dataclass
class ActionOutcome:
    decision: Decision
    result: dict[str, Any] = field(default_factory=dict)
    executed: bool = False
    # On an execution that gave money back at someone's discretion: how much, on which order
    # and customer, and the actor's running totals after it by scope (the audit keeps them).
    given: Decimal | None = None
    order_id: str = ""
    customer_id: str = ""
    totals: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**self.decision.as_dict(), "executed": self.executed, "result": self.result}


# The seeded defaults (desk/migrations/0003), used for any actor whose row is missing: a deleted
# row must never mean "no limit".
DEFAULT_LIMITS = {
    Actor.AI: {
        "max_refund": Decimal("100.00"),
        "max_subscription_age_days": 30,
        "max_refund_per_order": Decimal("100.00"),
        "max_refund_per_conversation": Decimal("150.00"),
        "max_refund_per_customer_day": Decimal("200.00"),
    },
    Actor.AGENT: {
        "max_refund": Decimal("500.00"),
        "max_subscription_age_days": None,
        "max_refund_per_order": Decimal("500.00"),
        "max_refund_per_conversation": Decimal("1000.00"),
        "max_refund_per_customer_day": Decimal("1000.00"),
    },
    Actor.SUPERVISOR: {"max_refund": None, "max_subscription_age_days": None},
}


def authority_limits() -> dict[str, AuthorityLimit]:
    limits = {limit.actor: limit for limit in AuthorityLimit.objects.all()}
    for actor, fields in DEFAULT_LIMITS.items():
        limits.setdefault(actor, AuthorityLimit(actor=actor, **fields))
    return limits


GIVEN_DAY = timedelta(hours=24)


def _scopes(state: ActionState, conversation_id: int | None) -> dict[str, Q]:
    """Which executions count toward each limit in sum for this action."""
    scopes: dict[str, Q] = {}
    if state.order is not None:
        scopes["order"] = Q(order_id=state.order.order_id)
    if conversation_id is not None:
        scopes["conversation"] = Q(conversation_id=conversation_id)
    customer_id = _customer_of(state)
    if customer_id:
        scopes["customer_day"] = Q(customer_id=customer_id, at__gte=timezone.now() - GIVEN_DAY)
    return scopes


def _customer_of(state: ActionState) -> str:
    if state.account is not None:
        return state.account.customer_id
    owner = state.customer or (state.order.customer if state.order is not None else None)
    if owner is None and state.subscription is not None:
        owner = state.subscription.customer
    return owner.customer_id if owner is not None else ""


def _given_load(state: ActionState, conversation_id: int | None) -> None:
    """What each kind of actor already gave back in each scope. Call holding the rows the
    action locks (the order, the customer's payment methods), so two concurrent actions on
    the same customer cannot both count without the other."""
    if state.tool.name not in DISCRETIONARY_REFUNDS:
        return
    for scope, where in _scopes(state, conversation_id).items():
        rows = (
            AuditEntry.objects.filter(where, kind=AuditEntry.Kind.EXECUTED, amount__isnull=False)
            .values("actor")
            .annotate(total=Sum("amount"))
        )
        totals = {row["actor"]: row["total"] for row in rows}
        for actor in Actor.values:
            state.given.setdefault(actor, {})[scope] = totals.get(actor, Decimal("0"))


def _state_load(
    *, tool: Any, args: Any, account_id: str | None, lock: bool
) -> ActionState | Decision:
    """Load (and with `lock`, lock in a fixed order: order, then payment methods) what the
    action touches."""
    account = None
    if account_id:
        account = Customer.objects.filter(customer_id=account_id).first()
        if account is None:
            return Decision("deny", ["customer_not_found"])
    state = ActionState(tool=tool, args=args, account=account)
    orders = Order.objects.select_for_update() if lock else Order.objects.all()
    owner_pk = account.pk if account else None
    if hasattr(args, "order_id"):
        state.order = orders.filter(order_id=args.order_id).first()
        if state.order is not None:
            state.items = list(state.order.items.all())
            state.payments = list(state.order.payments.all())
            owner_pk = owner_pk or state.order.customer_id
    if hasattr(args, "user_id"):
        customers = Customer.objects.select_for_update() if lock else Customer.objects.all()
        state.customer = customers.filter(customer_id=args.user_id).first()
        owner_pk = owner_pk or (state.customer.pk if state.customer else None)
    if hasattr(args, "subscription_id"):
        subscriptions = (
            Subscription.objects.select_for_update() if lock else Subscription.objects.all()
        )
        state.subscription = subscriptions.filter(subscription_id=args.subscription_id).first()
        if state.subscription is not None:
            owner_pk = owner_pk or state.subscription.customer_id
    if owner_pk is not None:
        methods = PaymentMethod.objects.filter(customer_id=owner_pk).order_by("method_id")
        if lock:
            methods = methods.select_for_update()
        state.methods = {m.method_id: m for m in methods}
    new_item_ids = getattr(args, "new_item_ids", None)
    if new_item_ids:
        variants = Variant.objects.select_related("product").filter(item_id__in=new_item_ids)
        state.variants = {v.item_id: v for v in variants}
    return state


# What PostgreSQL cannot store in text or JSON: NUL, and a surrogate that JSON let through alone.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """Arguments as received, fit to store: the audit row of a refused call must be written all
    the same. Each unstorable character becomes U+FFFD, in keys too."""
    if isinstance(value, str):
        return UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable(str(key)): storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    return value


def _audit(
    *,
    kind: str,
    actor: str,
    tool: str,
    args: dict[str, Any],
    decision: Decision | None = None,
    detail: str = "",
    user: Any = None,
    account_id: str = "",
    conversation: Any = None,
    case: Any = None,
    drafted: DraftedAction | None = None,
    idempotency_key: Any = None,
    given: ActionOutcome | None = None,
) -> AuditEntry:
    money = given if given is not None and given.given is not None else None
    return AuditEntry.objects.create(
        kind=kind,
        actor=actor,
        user=user,
        tool=storable(tool)[: AuditEntry._meta.get_field("tool").max_length],
        args=storable(args),
        decision=decision.outcome if decision else "",
        reasons=decision.reasons if decision else [],
        detail=storable(detail),
        customer_id=account_id
        or (money.customer_id if money else "")
        or (drafted.customer_id if drafted else ""),
        conversation=conversation,
        case=case,
        drafted_action=drafted,
        idempotency_key=idempotency_key,
        amount=money.given if money else None,
        order_id=money.order_id if money else "",
        totals=money.totals if money else {},
    )


def action_check(
    *,
    actor: str,
    tool: str,
    args: dict[str, Any],
    account_id: str | None,
    ai_read_only: bool = False,
    conversation_id: int | None = None,
) -> Decision:
    """What the policy would decide now. Reads only; the decision is made again at execution.
    A read tool is checked by running it, so another customer's data is refused here as in
    action_execute."""
    parsed = tool_parse(tool_name=tool, args=args)
    if isinstance(parsed, Decision):
        return parsed
    if not parsed[0].consequential:
        decision, _ = read_run(
            tool=parsed[0],
            args=parsed[1],
            account_id=account_id,
            needs_customer=actor == Actor.AI,
        )
        return decision
    state = _state_load(tool=parsed[0], args=parsed[1], account_id=account_id, lock=False)
    if isinstance(state, Decision):
        return state
    _given_load(state, conversation_id)
    context = PolicyContext(actor=actor, ai_read_only=ai_read_only, limits=authority_limits())
    return policy_evaluate(state=state, context=context)


@transaction.atomic
def action_execute(
    *,
    actor: str,
    tool: str,
    args: dict[str, Any],
    account_id: str | None,
    ai_read_only: bool = False,
    user: Any = None,
    conversation: Any = None,
    case: Any = None,
    drafted: DraftedAction | None = None,
    limits: dict[str, AuthorityLimit] | None = None,
) -> ActionOutcome:
    """Decide and, if allowed, execute: one transaction, the touched rows locked, so the state
    the policy saw is the state the write changes."""
    parsed = tool_parse(tool_name=tool, args=args)
    if isinstance(parsed, Decision):
        outcome = ActionOutcome(parsed)
    elif not parsed[0].consequential:
        decision, result = read_run(
            tool=parsed[0],
            args=parsed[1],
            account_id=account_id,
            needs_customer=actor == Actor.AI,
        )
        return ActionOutcome(decision, result, executed=decision.outcome == "allow")
    else:
        state = _state_load(tool=parsed[0], args=parsed[1], account_id=account_id, lock=True)
        if isinstance(state, Decision):
            outcome = ActionOutcome(state)
        else:
            _given_load(state, getattr(conversation, "pk", None))
            context = PolicyContext(
                actor=actor, ai_read_only=ai_read_only, limits=limits or authority_limits()
            )
            decision = policy_evaluate(state=state, context=context)
            outcome = ActionOutcome(decision)
            if decision.outcome == "allow" and parsed[0].consequential:
                outcome.result = parsed[0].effect(state)  # type: ignore[misc]
                outcome.executed = True
                given = limited_amount(state)
                if given is not None:
                    outcome.given = given
                    outcome.order_id = state.order.order_id if state.order else ""
                    outcome.customer_id = _customer_of(state)
                    outcome.totals = {
                        scope: str(total + given)
                        for scope, total in state.given.get(actor, {}).items()
                    }
    if outcome.executed or outcome.decision.outcome != "allow":
        if outcome.executed:
            kind = AuditEntry.Kind.EXECUTED
        elif outcome.decision.outcome == "needs_approval":
            kind = AuditEntry.Kind.HELD
        else:
            kind = AuditEntry.Kind.DENIED
        _audit(
            kind=kind,
            actor=actor,
            tool=tool,
            args=args,
            decision=outcome.decision,
            detail=outcome.decision.message,
            user=user,
            account_id=account_id or "",
            conversation=conversation,
            case=case,
            drafted=drafted,
            idempotency_key=drafted.idempotency_key if drafted and outcome.executed else None,
            given=outcome,
        )
    return outcome


@transaction.atomic
def action_draft(
    *,
    tool: str,
    args: dict[str, Any],
    drafted_by: str,
    account_id: str,
    conversation: Any = None,
    case: Any = None,
    started_by: Any = None,
) -> DraftedAction:
    """Hold a consequential action for a human (or, with `started_by`, record one a person
    starts, to be approved by them at once). The decision shown is what an agent could do.
    The draft is bound to the conversation's customer (given, or the one the conversation is
    about now): its approval acts for that customer and no other."""
    if not account_id and conversation is not None:
        account_id = conversation_account_id(conversation=conversation) or ""
    decision = action_check(actor=Actor.AGENT, tool=tool, args=args, account_id=account_id or None)
    args = storable(args)
    drafted = DraftedAction.objects.create(
        conversation=conversation,
        case=case,
        customer_id=account_id,
        tool=storable(tool)[: DraftedAction._meta.get_field("tool").max_length],
        args=args,
        original_args=args,
        drafted_by=drafted_by,
        started_by=started_by,
        decision=decision.as_dict(),
    )
    _audit(
        kind=AuditEntry.Kind.DRAFTED,
        actor=drafted_by,
        user=started_by,
        tool=tool,
        args=args,
        decision=decision,
        account_id=account_id,
        conversation=conversation,
        case=case,
        drafted=drafted,
    )
    return drafted


def action_refused(
    *,
    actor: str,
    user: Any,
    tool: str,
    args: dict[str, Any],
    decision: Decision,
    account_id: str,
    conversation: Any = None,
    case: Any = None,
) -> AuditEntry:
    """Audit an action a person asked for that the policy refused before anything was made
    of it (a start from the case page)."""
    return _audit(
        kind=AuditEntry.Kind.DENIED,
        actor=actor,
        user=user,
        tool=tool,
        args=args,
        decision=decision,
        detail=decision.message,
        account_id=account_id,
        conversation=conversation,
        case=case,
    )


def drafted_action_approve(
    *,
    drafted_id: int,
    user: Any,
    actor: str,
    args: dict[str, Any] | None = None,
    note: str = "",
) -> DraftedAction:
    """Approve (optionally edited) and execute as `actor` (the person's role, an Actor),
    exactly once however many approvals race. `changed` on the result says whether this call
    decided it."""
    try:
        return _approve(drafted_id=drafted_id, user=user, actor=actor, args=args, note=note)
    except IntegrityError:
        drafted = DraftedAction.objects.get(pk=drafted_id)
        if drafted.status == DraftedAction.Status.EXECUTED:
            # A concurrent approval executed it first (the execution key is unique).
            return drafted
        raise


@transaction.atomic
def _approve(
    *, drafted_id: int, user: Any, actor: str, args: dict[str, Any] | None, note: str
) -> DraftedAction:
    drafted = DraftedAction.objects.select_for_update().get(pk=drafted_id)
    # A failed execution (before refusals kept the draft) can be edited and tried again.
    if not drafted.decidable:
        return drafted
    conversation = drafted.conversation
    if not drafted.customer_id and conversation is not None:
        # Drafted before anyone was verified: it is for the customer the conversation is
        # about now, if there is one.
        drafted.customer_id = conversation_account_id(conversation=conversation) or ""
        if drafted.customer_id:
            drafted.save(update_fields=["customer_id"])
    if not drafted.customer_id:
        # Without a customer the policy could not tell another customer's order from theirs.
        drafted.refusal = Decision("deny", ["no_customer"])
        _audit(
            kind=AuditEntry.Kind.DENIED,
            actor=actor,
            user=user,
            tool=drafted.tool,
            args=args if args is not None else drafted.args,
            decision=drafted.refusal,
            detail=note,
            drafted=drafted,
            conversation=conversation,
            case=drafted.case,
        )
        return drafted
    drafted_args = drafted.args
    edited = args is not None and args != drafted.args
    if edited:
        _audit(
            kind=AuditEntry.Kind.EDITED,
            actor=actor,
            user=user,
            tool=drafted.tool,
            args=args,
            detail=note,
            drafted=drafted,
            conversation=conversation,
            case=drafted.case,
        )
        drafted.args = storable(args)
    _audit(
        kind=AuditEntry.Kind.APPROVED,
        actor=actor,
        user=user,
        tool=drafted.tool,
        args=drafted.args,
        detail=note,
        drafted=drafted,
        conversation=conversation,
        case=drafted.case,
    )
    outcome = action_execute(
        actor=actor,
        tool=drafted.tool,
        args=drafted.args,
        account_id=drafted.customer_id or None,
        user=user,
        conversation=conversation,
        case=drafted.case,
        drafted=drafted,
    )
    now = timezone.now()
    if edited and outcome.decision.outcome == "deny":
        # The edit is refused (audited above), not the action: it stays as drafted, so a slip
        # of the keyboard does not use up an action the customer may still be owed.
        drafted.args = drafted_args
        drafted.refusal = outcome.decision
        return drafted
    if outcome.decision.outcome == "deny":
        # Refused as it stands (audited by action_execute): it stays a draft that shows why,
        # to be edited and tried again or rejected, rather than a dead end.
        drafted.refusal = outcome.decision
        drafted.decision = outcome.decision.as_dict()
        drafted.status = DraftedAction.Status.DRAFTED
        drafted.save(update_fields=["decision", "status"])
        return drafted
    drafted.decision = outcome.decision.as_dict()
    if outcome.decision.outcome == "needs_approval":
        # Still a draft: it waits for someone with more authority, who is told of it.
        drafted.held_by, drafted.held_at = user, now
        drafted.save(update_fields=["args", "decision", "held_by", "held_at"])
        return drafted
    drafted.decided_by, drafted.decided_at, drafted.decision_note = user, now, note
    drafted.result = outcome.result or {"reasons": outcome.decision.reasons}
    if outcome.executed:
        drafted.status, drafted.executed_at = DraftedAction.Status.EXECUTED, now
    else:
        drafted.status = DraftedAction.Status.FAILED
    drafted.save()
    drafted.changed = True
    return drafted


@transaction.atomic
def drafted_action_reject(*, drafted_id: int, user: Any, actor: str, note: str) -> DraftedAction:
    """Reject: nothing runs. A rejection needs a reason (RejectionWithoutReason otherwise):
    the card and the audit show it."""
    if not note.strip():
        raise RejectionWithoutReason("Say why you reject it; nothing was rejected.")
    drafted = DraftedAction.objects.select_for_update().get(pk=drafted_id)
    if not drafted.decidable:
        return drafted
    drafted.status = DraftedAction.Status.REJECTED
    drafted.decided_by, drafted.decided_at, drafted.decision_note = user, timezone.now(), note
    drafted.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    drafted.changed = True
    _audit(
        kind=AuditEntry.Kind.REJECTED,
        actor=actor,
        user=user,
        tool=drafted.tool,
        args=drafted.args,
        detail=note,
        drafted=drafted,
        conversation=drafted.conversation,
        case=drafted.case,
    )
    return drafted
