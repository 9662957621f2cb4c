"""What the case page shows about an action's money and about what is still open. Computed
from what the workspace already read (desk/selectors.py case_workspace): no queries."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from actions.effects import refund_plan
from actions.models import DraftedAction
from escalation.cases.access import user_is_supervisor

register = template.Library()

# Tools whose refund goes back the way the order was paid (actions/effects.py _refund).
REFUNDS_TO_PAYMENTS = {"refund_payment", "cancel_pending_order"}
# Tools whose money moves through the payment method named in their arguments.
TO_NAMED_METHOD = {
    "return_delivered_order_items",
    "exchange_delivered_order_items",
    "modify_pending_order_items",
    "modify_pending_order_payment",
}


def _amount(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount > 0 else None


@register.simple_tag
def action_money(action: DraftedAction, workspace: Any) -> dict[str, Any] | None:
    """For an action on an order or money: the order, where the money goes (method label and
    amount) and the order's payment history, each payment with its method's label."""
    args = action.args if isinstance(action.args, dict) else {}
    account = getattr(workspace, "account", None)
    labels = {m.payment_method_id: m.label for m in (account.payment_methods if account else ())}

    def label(method_id: str) -> str:
        return labels.get(method_id, method_id)

    order = None
    if args.get("order_id"):
        order = next(
            (o for o in getattr(workspace, "orders", []) if o.order_id == args["order_id"]), None
        )
    destination: list[tuple[str, Decimal | None]] = []
    went = action.result.get("to") if isinstance(action.result, dict) else None
    if action.status == DraftedAction.Status.EXECUTED and isinstance(went, list):
        # Where it went, as the effect reported it.
        destination = [
            (label(str(part.get("payment_method_id", ""))), _amount(part.get("amount")))
            for part in went
            if isinstance(part, dict)
        ]
    elif action.tool in REFUNDS_TO_PAYMENTS and order is not None:
        paid = sum(
            (p.amount for p in order.payments if p.transaction_type == "payment"), Decimal(0)
        )
        back = sum((p.amount for p in order.payments if p.transaction_type == "refund"), Decimal(0))
        amount = _amount(args.get("amount")) if action.tool == "refund_payment" else paid - back
        # More than the order can give back is refused (refund_exceeds_paid): it goes nowhere.
        if amount and amount <= paid - back:
            destination = [(label(m), part) for m, part in refund_plan(order.payments, amount)]
    elif action.tool in TO_NAMED_METHOD and args.get("payment_method_id"):
        destination = [(label(str(args["payment_method_id"])), None)]
    elif action.tool == "issue_store_credit":
        cards = [
            m.label for m in (account.payment_methods if account else ()) if m.source == "gift_card"
        ]
        destination = [(cards[0] if cards else "a new gift card", _amount(args.get("amount")))]
    if order is None and not destination:
        return None
    history = [
        {
            "kind": p.transaction_type,
            "amount": p.amount,
            "method": label(p.payment_method_id),
            "at": p.created_at,
        }
        for p in (order.payments if order is not None else ())
    ]
    return {
        "order_id": args.get("order_id", ""),
        "order": order,
        "destination": destination,
        "history": history,
    }


# The embedded packet's "still open" for an AI call the policy refused (escalation/packets.py):
# "refund_payment (#W2378156 $54.04) still needs doing".
_STILL_TO_DO = re.compile(r"(?P<tool>[a-z_]+)(?: \((?P<target>[^ )]+)[^)]*\))? still needs doing")


def _done(still_open: str, drafted: list[DraftedAction]) -> bool:
    match = _STILL_TO_DO.fullmatch(still_open or "")
    if match is None:
        return False
    target = match["target"]
    for action in drafted:
        if action.tool != match["tool"] or action.status != DraftedAction.Status.EXECUTED:
            continue
        args = action.args if isinstance(action.args, dict) else {}
        if target is None or target in (args.get("order_id"), args.get("user_id")):
            return True
    return False


@register.filter
def still_open(summary: Any, drafted: list[DraftedAction]) -> str:
    """What the packet says is still open, unless an action since did it."""
    text = (summary or {}).get("still_open", "") if isinstance(summary, dict) else ""
    return "" if _done(text, drafted) else text


@register.filter
def summary_text(summary: Any, drafted: list[DraftedAction]) -> str:
    """The packet's summary, without its "Still open" sentence once an action did that."""
    if not isinstance(summary, dict):
        return ""
    text = summary.get("text", "")
    open_item = summary.get("still_open", "")
    if open_item and _done(open_item, drafted):
        sentence = f"Still open: {open_item[:1].lower()}{open_item[1:]}."
        text = " ".join(text.replace(sentence, "").split())
    return text


@register.filter
def is_supervisor(user: Any) -> bool:
    return user_is_supervisor(user)


@register.inclusion_tag("desk/_approvals_badge.html")
def approvals_badge(user: Any) -> dict[str, Any]:
    """The header's approvals link, for supervisors: how many actions wait for one."""
    from desk.approvals import approvals_waiting_count

    if not user_is_supervisor(user):
        return {"hidden": True}
    return {"count": approvals_waiting_count()}


@register.simple_tag
def startable_tools() -> list[Any]:
    from actions.schema_form import startable_tools as tools

    return tools()
