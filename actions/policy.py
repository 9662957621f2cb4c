"""The policy layer: deterministic code that decides what an actor may do.

It reads the store rows an action touches (locked by the caller) and returns a Decision. No
LLM output is an input here, and nothing an actor says can widen what it may do: limits are
AuthorityLimit rows, rules are the store's written policy (docs/actions.md).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from django.utils import timezone

from actions.models import ACTOR_RANK, Actor, AuthorityLimit
from actions.schemas import CANCEL_REASONS, Args
from store.models import (
    Customer,
    Order,
    OrderItem,
    Payment,
    PaymentMethod,
    Subscription,
    Variant,
)

if TYPE_CHECKING:
    from actions.catalog import Tool

Outcome = Literal["allow", "needs_approval", "deny"]

MESSAGES = {
    "unknown_tool": "There is no such action.",
    "invalid_args": "The action's arguments are not valid.",
    "ai_read_only": "The AI may only read in this conversation.",
    "read_only_actor": "This kind of actor may only read.",
    "not_authenticated": "No customer is authenticated in this conversation yet.",
    "no_customer": "Nobody has verified which customer this conversation is about, so this "
    "draft cannot be approved: verify the customer first. To act for a customer you verified "
    "some other way, start a new action for them.",
    "customer_not_found": "No such customer.",
    "order_not_found": "No such order.",
    "subscription_not_found": "No such subscription.",
    "product_not_found": "No such product.",
    "other_customer": "It belongs to another customer than the one in this conversation.",
    "wrong_status": "The order's status does not allow this action.",
    "bad_cancel_reason": "A cancellation reason must be 'no longer needed' or 'ordered by mistake'.",
    "payment_method_not_owned": "The payment method is not in the customer's profile.",
    "refund_method_not_allowed": "A refund must go to the original payment method or a gift card.",
    "insufficient_gift_card_balance": "The gift card's balance does not cover the amount.",
    "item_not_in_order": "An item is not in the order (or not that many times).",
    "count_mismatch": "The number of new items does not match the items to change.",
    "item_not_found": "A new item does not exist.",
    "cross_product": "A new item is of another product; only other options of the same one are allowed.",
    "item_unavailable": "A new item is not available.",
    "same_payment_method": "The new payment method is the one the order already uses.",
    "multiple_payments": "The order has more than one payment, so its payment method cannot change.",
    "refund_exceeds_paid": "The refund is more than what was paid and not yet refunded.",
    "subscription_not_active": "The subscription is not active.",
    "over_authority_limit": "The amount is over this actor's limit.",
    "over_order_total_limit": "With what this actor already gave back on the order, the total "
    "is over its limit for one order.",
    "over_conversation_total_limit": "With what this actor already gave back in this "
    "conversation, the total is over its limit for one conversation.",
    "over_customer_day_total_limit": "With what this actor gave this customer in the last 24 "
    "hours, the total is over its daily limit.",
    "subscription_too_old": "The subscription is older than this actor may refund.",
}

PENDING_ONLY = {"pending"}
DELIVERED_ONLY = {"delivered"}


@dataclass
class Decision:
    outcome: Outcome
    reasons: list[str] = field(default_factory=list)
    approver: str | None = None
    refund_amount: Decimal | None = None
    # What exactly is wrong, for people (invalid_args: which field and why).
    detail: str = ""

    @property
    def message(self) -> str:
        if self.outcome == "allow":
            return "Allowed."
        text = " ".join(MESSAGES.get(code, code) for code in self.reasons)
        if self.detail:
            text = f"{text.rstrip('.')}: {self.detail}."
        if self.outcome == "needs_approval":
            article = "An" if (self.approver or "")[:1] in "aeiou" else "A"
            return f"{text} {article} {self.approver} must approve it."
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": self.outcome,
            "reasons": list(self.reasons),
            "message": self.message,
            "approver": self.approver,
            "refund_amount": str(self.refund_amount) if self.refund_amount is not None else None,
        }


@dataclass
class ActionState:
    """The rows one action touches, loaded (and locked) by the caller."""

    tool: Tool
    args: Args
    account: Customer | None
    customer: Customer | None = None
    order: Order | None = None
    items: list[OrderItem] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    methods: dict[str, PaymentMethod] = field(default_factory=dict)
    variants: dict[str, Variant] = field(default_factory=dict)
    subscription: Subscription | None = None
    # What each kind of actor already gave back, by scope ("order", "conversation",
    # "customer_day"): executed actions in the audit log, read under the caller's locks.
    given: dict[str, dict[str, Decimal]] = field(default_factory=dict)


# The limits in sum, by scope: (AuthorityLimit field, reason when over it).
CUMULATIVE_LIMITS = {
    "order": ("max_refund_per_order", "over_order_total_limit"),
    "conversation": ("max_refund_per_conversation", "over_conversation_total_limit"),
    "customer_day": ("max_refund_per_customer_day", "over_customer_day_total_limit"),
}


@dataclass
class PolicyContext:
    actor: str
    ai_read_only: bool
    limits: dict[str, AuthorityLimit]


def policy_evaluate(*, state: ActionState, context: PolicyContext) -> Decision:
    """Decide on one action against the state it would change. Pure: reads, never writes."""
    if not state.tool.consequential:
        return Decision("allow")
    limit = context.limits.get(context.actor)
    if context.actor == Actor.AI and context.ai_read_only:
        return Decision("deny", ["ai_read_only"])
    if limit is not None and not limit.may_write:
        return Decision("deny", ["read_only_actor"])
    if context.actor == Actor.AI and state.account is None:
        # The AI acts only for a customer it has authenticated (policy: email or name + zip).
        return Decision("deny", ["not_authenticated"])
    assert state.tool.check is not None  # consequential tools carry one (catalog.Tool)
    reasons = state.tool.check(state)
    if reasons:
        return Decision("deny", _unique(reasons))
    return _authority(state=state, context=context)


def _unique(codes: list[str]) -> list[str]:
    return list(dict.fromkeys(codes))


# Shared checks


def _order_checks(state: ActionState, statuses: set[str]) -> list[str]:
    if state.order is None:
        return ["order_not_found"]
    reasons = []
    if state.account is not None and state.order.customer_id != state.account.pk:
        reasons.append("other_customer")
    if state.order.status not in statuses:
        reasons.append("wrong_status")
    return reasons


def _method_checks(state: ActionState, method_id: str) -> list[str]:
    method = state.methods.get(method_id)
    if method is None:
        return ["payment_method_not_owned"]
    return []


def _items_checks(state: ActionState, item_ids: list[str]) -> list[str]:
    held = Counter(item.item_id for item in state.items)
    wanted = Counter(item_ids)
    if any(count > held[item_id] for item_id, count in wanted.items()):
        return ["item_not_in_order"]
    return []


def _new_items_checks(
    state: ActionState, item_ids: list[str], new_item_ids: list[str]
) -> list[str]:
    if len(item_ids) != len(new_item_ids):
        return ["count_mismatch"]
    product_of = {item.item_id: item.product_id for item in state.items}
    reasons = []
    for old, new in zip(item_ids, new_item_ids, strict=True):
        variant = state.variants.get(new)
        if variant is None:
            reasons.append("item_not_found")
        elif product_of.get(old) is not None and variant.product.product_id != product_of[old]:
            reasons.append("cross_product")
        elif not variant.available:
            reasons.append("item_unavailable")
    return reasons


def _items_price(state: ActionState, item_ids: list[str]) -> Decimal:
    price_of = {item.item_id: item.price for item in state.items}
    return sum((price_of[i] for i in item_ids), Decimal(0))


def price_difference(state: ActionState, item_ids: list[str], new_item_ids: list[str]) -> Decimal:
    """What the customer pays (positive) or gets back (negative) for swapping items."""
    new = sum((state.variants[i].price for i in new_item_ids), Decimal(0))
    return new - _items_price(state, item_ids)


def _gift_card_covers(state: ActionState, method_id: str, amount: Decimal) -> list[str]:
    method = state.methods.get(method_id)
    is_gift_card = method is not None and method.source == PaymentMethod.Source.GIFT_CARD
    if is_gift_card and amount > 0 and (method.balance or Decimal(0)) < amount:
        return ["insufficient_gift_card_balance"]
    return []


def promised_refund(order: Order) -> Decimal:
    """What a requested return or exchange will refund once the items come back."""
    if order.status == Order.Status.RETURN_REQUESTED:
        return Decimal(order.request.get("refund_amount", 0))
    if order.status == Order.Status.EXCHANGE_REQUESTED:
        return max(-Decimal(order.request.get("price_difference", 0)), Decimal(0))
    return Decimal(0)


def refundable(state: ActionState) -> Decimal:
    """What the order's payments may still give back: paid, less refunded, less promised."""
    paid = sum((p.amount for p in state.payments if p.transaction_type == "payment"), Decimal(0))
    refunded = sum((p.amount for p in state.payments if p.transaction_type == "refund"), Decimal(0))
    return paid - refunded - promised_refund(state.order)


def _refund_covered(state: ActionState, amount: Decimal) -> list[str]:
    if amount > 0 and amount > refundable(state):
        return ["refund_exceeds_paid"]
    return []


# Per-tool checks: each returns the reasons to deny (empty: within policy).


def cancel_pending_order(state: ActionState) -> list[str]:
    args = state.args
    reasons = _order_checks(state, PENDING_ONLY)
    if args.reason not in CANCEL_REASONS:
        reasons.append("bad_cancel_reason")
    return reasons


def modify_pending_order_address(state: ActionState) -> list[str]:
    return _order_checks(state, PENDING_ONLY)


def _swap_checks(state: ActionState, statuses: set[str]) -> list[str]:
    """Items swapped for other variants of the same products (modify or exchange)."""
    args = state.args
    reasons = _order_checks(state, statuses)
    if "order_not_found" in reasons:
        return reasons
    reasons += _items_checks(state, args.item_ids)
    reasons += _new_items_checks(state, args.item_ids, args.new_item_ids)
    reasons += _method_checks(state, args.payment_method_id)
    if not reasons:
        diff = price_difference(state, args.item_ids, args.new_item_ids)
        reasons += _gift_card_covers(state, args.payment_method_id, diff)
        reasons += _refund_covered(state, -diff)
    return reasons


def modify_pending_order_items(state: ActionState) -> list[str]:
    return _swap_checks(state, PENDING_ONLY)


def modify_pending_order_payment(state: ActionState) -> list[str]:
    args = state.args
    reasons = _order_checks(state, PENDING_ONLY)
    if "order_not_found" in reasons:
        return reasons
    reasons += _method_checks(state, args.payment_method_id)
    payments = [p for p in state.payments if p.transaction_type == "payment"]
    if len(state.payments) != 1 or len(payments) != 1:
        reasons.append("multiple_payments")
    elif payments[0].payment_method_id == args.payment_method_id:
        reasons.append("same_payment_method")
    if not reasons:
        reasons += _gift_card_covers(state, args.payment_method_id, payments[0].amount)
    return reasons


def return_delivered_order_items(state: ActionState) -> list[str]:
    args = state.args
    reasons = _order_checks(state, DELIVERED_ONLY)
    if "order_not_found" in reasons:
        return reasons
    reasons += _items_checks(state, args.item_ids)
    reasons += _method_checks(state, args.payment_method_id)
    method = state.methods.get(args.payment_method_id)
    original = {p.payment_method_id for p in state.payments if p.transaction_type == "payment"}
    if (
        method is not None
        and method.source != PaymentMethod.Source.GIFT_CARD
        and args.payment_method_id not in original
    ):
        reasons.append("refund_method_not_allowed")
    if not reasons:
        reasons += _refund_covered(state, _items_price(state, args.item_ids))
    return reasons


def exchange_delivered_order_items(state: ActionState) -> list[str]:
    return _swap_checks(state, DELIVERED_ONLY)


def modify_user_address(state: ActionState) -> list[str]:
    if state.customer is None:
        return ["customer_not_found"]
    if state.account is not None and state.customer.pk != state.account.pk:
        return ["other_customer"]
    return []


def refund_payment(state: ActionState) -> list[str]:
    statuses = {s.value for s in Order.Status}
    reasons = _order_checks(state, statuses)
    if "order_not_found" in reasons:
        return reasons
    reasons += _refund_covered(state, state.args.amount)
    return reasons


def issue_store_credit(state: ActionState) -> list[str]:
    return modify_user_address(state)


def refund_subscription(state: ActionState) -> list[str]:
    subscription = state.subscription
    if subscription is None:
        return ["subscription_not_found"]
    reasons = []
    if state.account is not None and subscription.customer_id != state.account.pk:
        reasons.append("other_customer")
    if subscription.status != Subscription.Status.ACTIVE:
        reasons.append("subscription_not_active")
    return reasons


def resend_confirmation(state: ActionState) -> list[str]:
    statuses = {s.value for s in Order.Status}
    return _order_checks(state, statuses)




# Authority: money that leaves the shop at an actor's discretion is held to that actor's limit.

# Refunds the store's written policy grants, rather than an actor's discretion, are held to no
# authority limit. Cancelling a pending order refunds its whole total to the original payment
# methods (policy.md, "Cancel pending order"), so the AI may cancel any pending order of its
# customer's, whatever the total, as a tau-bench retail agent may. Nothing has shipped, so
# nothing is given away, and refund_exceeds_paid still applies. A swap's price difference
# (modify items, exchange) is not at discretion either, so refund_amount leaves it out.
LIMIT_EXEMPT_REFUNDS = frozenset({"cancel_pending_order"})


def refund_amount(state: ActionState) -> Decimal | None:
    """The money the action gives back, as the decision reports it."""
    args = state.args
    name = state.tool.name
    if name in ("refund_payment", "issue_store_credit"):
        return args.amount
    if name == "cancel_pending_order" and state.order is not None:
        return refundable(state)
    if name == "return_delivered_order_items":
        return _items_price(state, args.item_ids)
    if name == "refund_subscription" and state.subscription is not None:
        return state.subscription.price
    return None


# The tools that give money back at someone's discretion (refund_amount, less the exempt).
DISCRETIONARY_REFUNDS = frozenset(
    {"refund_payment", "issue_store_credit", "return_delivered_order_items", "refund_subscription"}
)


def limited_amount(state: ActionState) -> Decimal | None:
    """The money held to authority limits: what the action gives back at someone's discretion."""
    return None if state.tool.name in LIMIT_EXEMPT_REFUNDS else refund_amount(state)


def _within(limit: AuthorityLimit | None, state: ActionState, amount: Decimal | None) -> list[str]:
    if limit is None:
        return []
    reasons = []
    if amount is not None and limit.max_refund is not None and amount > limit.max_refund:
        reasons.append("over_authority_limit")
    if amount is not None:
        given = state.given.get(limit.actor, {})
        for scope, (name, reason) in CUMULATIVE_LIMITS.items():
            cap = getattr(limit, name, None)
            if cap is None or scope not in given or given[scope] + amount <= cap:
                continue
            # An amount over the per-action limit on its own is that, not a sum over its cap.
            if given[scope] or "over_authority_limit" not in reasons:
                reasons.append(reason)
    if (
        state.subscription is not None
        and state.tool.name == "refund_subscription"
        and limit.max_subscription_age_days is not None
    ):
        age = timezone.now() - state.subscription.started_at
        if age > timedelta(days=limit.max_subscription_age_days):
            reasons.append("subscription_too_old")
    return reasons


def _authority(*, state: ActionState, context: PolicyContext) -> Decision:
    amount = refund_amount(state)
    limited = limited_amount(state)
    reasons = _within(context.limits.get(context.actor), state, limited)
    if not reasons:
        return Decision("allow", refund_amount=amount)
    higher = ACTOR_RANK[ACTOR_RANK.index(Actor(context.actor)) + 1 :]
    for role in higher:
        if role == Actor.AI:
            continue
        if not _within(context.limits.get(role), state, limited):
            return Decision("needs_approval", reasons, approver=role.value, refund_amount=amount)
    return Decision("deny", reasons, refund_amount=amount)
