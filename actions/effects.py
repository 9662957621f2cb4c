"""What each consequential action writes. Called only after the policy allowed it, with the rows
locked, inside the caller's transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from actions.policy import ActionState, price_difference
from store.models import Order, OrderItem, Payment, PaymentMethod, Subscription


def _credit(method: PaymentMethod | None, amount: Decimal) -> None:
    """Gift cards are refunded at once; cards and PayPal settle outside the store."""
    if method is not None and method.source == PaymentMethod.Source.GIFT_CARD:
        method.balance = (method.balance or Decimal(0)) + amount
        method.save(update_fields=["balance"])


def _debit(method: PaymentMethod, amount: Decimal) -> None:
    if method.source == PaymentMethod.Source.GIFT_CARD:
        method.balance = (method.balance or Decimal(0)) - amount
        method.save(update_fields=["balance"])


def net_paid(payments: Any) -> dict[str, Decimal]:
    """What each payment method has paid into the order and not had back, most recent first.
    `payments`: the order's payment history (rows or records), oldest first."""
    net: dict[str, Decimal] = {}
    last_seen: dict[str, int] = {}
    for position, payment in enumerate(payments):
        sign = 1 if payment.transaction_type == Payment.Type.PAYMENT else -1
        method_id = payment.payment_method_id
        net[method_id] = net.get(method_id, Decimal(0)) + sign * payment.amount
        if sign > 0:
            last_seen[method_id] = position
    recent_first = sorted(net, key=lambda m: last_seen.get(m, -1), reverse=True)
    return {m: net[m] for m in recent_first if net[m] > 0}


def refund_plan(payments: Any, amount: Decimal) -> list[tuple[str, Decimal]]:
    """Where a refund of `amount` goes: the methods that paid it, the most recent first, never
    more than a method has paid and not had back. The desk shows it before approval."""
    plan = []
    remaining = amount
    for method_id, paid in net_paid(payments).items():
        if remaining <= 0:
            break
        part = min(paid, remaining)
        plan.append((method_id, part))
        remaining -= part
    return plan


def _net_paid(state: ActionState) -> dict[str, Decimal]:
    return net_paid(state.payments)


def _refund(state: ActionState, amount: Decimal) -> list[Payment]:
    """Refund `amount` as refund_plan says (the policy already held `amount` to what is
    refundable)."""
    refunds = [
        Payment(
            order=state.order,
            transaction_type=Payment.Type.REFUND,
            amount=part,
            payment_method_id=method_id,
        )
        for method_id, part in refund_plan(state.payments, amount)
    ]
    for refund in refunds:
        _credit(state.methods.get(refund.payment_method_id), refund.amount)
    Payment.objects.bulk_create(refunds)
    return refunds


def cancel_pending_order(state: ActionState) -> dict[str, Any]:
    order = state.order
    refunds = _refund(state, sum(_net_paid(state).values(), Decimal(0)))
    order.status = Order.Status.CANCELLED
    order.request = {"cancel_reason": state.args.reason}
    order.save(update_fields=["status", "request"])
    return {
        "order_id": order.order_id,
        "status": order.status,
        "refunded": str(sum((r.amount for r in refunds), Decimal(0))),
    }


def _address_fields(args: Any) -> dict[str, str]:
    return {
        k: getattr(args, k) for k in ("address1", "address2", "city", "state", "country", "zip")
    }


def modify_pending_order_address(state: ActionState) -> dict[str, Any]:
    order = state.order
    order.address = _address_fields(state.args)
    order.save(update_fields=["address"])
    return {"order_id": order.order_id, "address": order.address}


def _swap_items(state: ActionState) -> Decimal:
    """Replace the order's items in place; return the price difference."""
    args = state.args
    diff = price_difference(state, args.item_ids, args.new_item_ids)
    remaining = list(state.items)
    changed = []
    for old, new in zip(args.item_ids, args.new_item_ids, strict=True):
        row = next(item for item in remaining if item.item_id == old)
        remaining.remove(row)
        variant = state.variants[new]
        row.item_id, row.options, row.price = variant.item_id, variant.options, variant.price
        changed.append(row)
    OrderItem.objects.bulk_update(changed, ["item_id", "options", "price"])
    return diff


def modify_pending_order_items(state: ActionState) -> dict[str, Any]:
    order = state.order
    method = state.methods[state.args.payment_method_id]
    diff = _swap_items(state)
    if diff:
        Payment.objects.create(
            order=order,
            transaction_type=Payment.Type.PAYMENT if diff > 0 else Payment.Type.REFUND,
            amount=abs(diff),
            payment_method_id=method.method_id,
        )
        if diff > 0:
            _debit(method, diff)
        else:
            _credit(method, -diff)
    order.total += diff
    order.status = Order.Status.PENDING_ITEMS_MODIFIED
    order.save(update_fields=["status", "total"])
    return {"order_id": order.order_id, "status": order.status, "price_difference": str(diff)}


def modify_pending_order_payment(state: ActionState) -> dict[str, Any]:
    order = state.order
    [old] = state.payments
    new = state.methods[state.args.payment_method_id]
    Payment.objects.bulk_create(
        [
            Payment(
                order=order,
                transaction_type=Payment.Type.PAYMENT,
                amount=old.amount,
                payment_method_id=new.method_id,
            ),
            Payment(
                order=order,
                transaction_type=Payment.Type.REFUND,
                amount=old.amount,
                payment_method_id=old.payment_method_id,
            ),
        ]
    )
    _debit(new, old.amount)
    _credit(state.methods.get(old.payment_method_id), old.amount)
    return {"order_id": order.order_id, "payment_method_id": new.method_id}


def return_delivered_order_items(state: ActionState) -> dict[str, Any]:
    order = state.order
    price_of = {item.item_id: item.price for item in state.items}
    amount = sum((price_of[i] for i in state.args.item_ids), Decimal(0))
    order.status = Order.Status.RETURN_REQUESTED
    order.request = {
        "return_items": sorted(state.args.item_ids),
        "refund_payment_method_id": state.args.payment_method_id,
        "refund_amount": str(amount),
    }
    order.save(update_fields=["status", "request"])
    return {"order_id": order.order_id, "status": order.status, "refund_amount": str(amount)}


def exchange_delivered_order_items(state: ActionState) -> dict[str, Any]:
    order = state.order
    diff = price_difference(state, state.args.item_ids, state.args.new_item_ids)
    order.status = Order.Status.EXCHANGE_REQUESTED
    order.request = {
        "exchange_items": sorted(state.args.item_ids),
        "exchange_new_items": sorted(state.args.new_item_ids),
        "payment_method_id": state.args.payment_method_id,
        "price_difference": str(diff),
    }
    order.save(update_fields=["status", "request"])
    return {"order_id": order.order_id, "status": order.status, "price_difference": str(diff)}


def modify_user_address(state: ActionState) -> dict[str, Any]:
    customer = state.customer
    customer.address = _address_fields(state.args)
    customer.zip = customer.address["zip"]
    customer.save(update_fields=["address", "zip"])
    return {"user_id": customer.customer_id, "address": customer.address}


def refund_payment(state: ActionState) -> dict[str, Any]:
    refunds = _refund(state, state.args.amount)
    return {
        "order_id": state.order.order_id,
        "refunded": str(state.args.amount),
        "to": [
            {"payment_method_id": r.payment_method_id, "amount": str(r.amount)} for r in refunds
        ],
    }


def issue_store_credit(state: ActionState) -> dict[str, Any]:
    customer = state.customer
    card = next(
        (m for m in state.methods.values() if m.source == PaymentMethod.Source.GIFT_CARD), None
    )
    if card is None:
        card = PaymentMethod.objects.create(
            method_id=f"gift_card_sc{customer.pk:07d}",
            customer=customer,
            source=PaymentMethod.Source.GIFT_CARD,
            balance=Decimal(0),
        )
    _credit(card, state.args.amount)
    return {
        "user_id": customer.customer_id,
        "gift_card": card.method_id,
        "balance": str(card.balance),
    }


def refund_subscription(state: ActionState) -> dict[str, Any]:
    subscription = state.subscription
    subscription.status = Subscription.Status.REFUNDED
    subscription.ended_at = timezone.now()
    subscription.save(update_fields=["status", "ended_at"])
    _credit(state.methods.get(subscription.payment_method_id), subscription.price)
    return {"subscription_id": subscription.subscription_id, "refunded": str(subscription.price)}


def resend_confirmation(state: ActionState) -> dict[str, Any]:
    order = state.order
    email = order.customer.email
    lines = "\n".join(f"- {item.name}: ${item.price}" for item in state.items)
    body = (
        f"Your order {order.order_id} ({order.get_status_display().lower()}), "
        f"total ${order.total}:\n{lines}\n"
    )
    transaction.on_commit(
        lambda: send_mail(f"Your order {order.order_id}", body, None, [email], fail_silently=False),
        robust=True,
    )
    return {"order_id": order.order_id, "sent_to": email}


