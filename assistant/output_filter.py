"""The output filter: every reply the assistant would send is checked here first.

It blocks a reply that
- leaks the system prompt (its server-only reference, or a run of its words);
- shows another customer's data (an email, order, customer id or phone that is not the
  verified customer's);
- promises what the policy does not back: a discount or deal (the catalog has no such tool), a
  refund or credit no executed action gave, or an amount that neither a tool result nor the
  store holds. That is the invented refund policy and the $1 car.
A blocked reply is replaced by a safe one; the block goes out in the turn's `ai_signal`
(intent `output_blocked`, topic the kinds), which the desk and the engine see.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from assistant.turn import ToolRecord, Turn
from store.models import Customer, Order, OrderItem, Payment, Variant

PROMPT_LEAK = "prompt_leak"
OTHER_CUSTOMER = "other_customer_data"
UNBACKED_PROMISE = "unbacked_promise"

SAFE_REPLY = (
    "Sorry, I can't help with that here. I can check an order's status and tracking, tell you "
    "whether an order can be returned, or cancel a pending order, and I can connect you with a "
    "person at any time."
)
SHINGLE = 7
_WORD = re.compile(r"[a-z0-9']+")
_ABOUT_PROMPT = re.compile(
    r"\b(system prompt|my (instructions|guidelines|rules) (are|say)|i was (told|instructed) to|"
    r"internal reference)\b",
    re.I,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ORDER = re.compile(r"#?\b(W\d{7})\b", re.I)
_IDENT = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b", re.I)
_PHONE = re.compile(r"\+?\(?\d(?:[\s().-]{0,2}\d){9,13}")
_AMOUNT = re.compile(
    r"(?:[$€£]|usd\s?)\s?(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?|"
    r"\b(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?\s?(?:dollars|bucks|usd|eur|euros)\b",
    re.I,
)
_DEAL = re.compile(
    r"(\bdiscount|\bcoupon|\bpromo(tion)? code|\bvoucher|\d+\s?% off|\bfree of charge|"
    r"\bfor free\b|\bcomplimentary\b|\bprice match|\blegally binding|\btakesies|\bdeal\b)",
    re.I,
)
_GIVING = re.compile(
    r"\b((?:i|we)(?:'ve| have)? (?:just |now |already )?(?:issued|processed|refunded|credited|"
    r"approved|reimbursed)|went ahead and (?:issued|processed|refunded|credited|reimbursed)|"
    r"(?:refunded|credited|reimbursed) (?:you|your)\b|"
    r"(?:you(?:'ll| will)|you are going to) (?:receive|get|be (?:refunded|credited|reimbursed))|"
    r"(?:refund|credit|reimbursement)s? (?:has|have|is|was|will be) (?:been )?"
    r"(?:issued|processed|sent|approved|on its way)|i(?:'ll| will| can) (?:refund|credit|give)|"
    r"(?:full|complete) refund)",
    re.I,
)
# Only a plain refusal makes an amount the customer asked for safe to repeat ("I can't refund
# $150"): a bare "no" or "not" would let "No problem, I've refunded $500" through.
_NEGATION = re.compile(
    r"\b(?:i can't|i cannot|i can not|i'm unable to|i am unable to|i'm not able to|"
    r"i am not able to|i'm not allowed to|can't be|cannot be)\s+(?:\w+\s+){0,2}?"
    # The refusal must be of the giving itself, right before its verb: "I can't believe it,
    # but I've issued your refund" or "I cannot say no: 50% off" is no refusal.
    r"(?:refund(?:ed)?|credit(?:ed)?|give|giv(?:en|ing)|offer(?:ed)?|issue[ds]?|apply|applied|"
    r"provide[ds]?|make|made|match|approve[ds]?|promise[ds]?|reimburse[ds]?|change[ds]?)\b",
    re.I,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_GIVES_MONEY = frozenset(
    {
        "cancel_pending_order",
        "refund_payment",
        "issue_store_credit",
        "return_delivered_order_items",
        "refund_subscription",
    }
)


def _amount(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", "")).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _numbers(value: Any, into: set[Decimal]) -> None:
    """Every amount a tool result holds."""
    if isinstance(value, dict):
        for item in value.values():
            _numbers(item, into)
    elif isinstance(value, list | tuple):
        for item in value:
            _numbers(item, into)
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        found = _amount(str(value))
        if found is not None:
            into.add(found)
    elif isinstance(value, str) and re.fullmatch(r"\d+(\.\d{1,2})?", value):
        found = _amount(value)
        if found is not None:
            into.add(found)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def prompt_leaks(text: str, system_prompt: str) -> bool:
    reference = system_prompt.rsplit("Internal reference: ", 1)[-1].rstrip(".")
    if reference and reference in text:
        return True
    if _ABOUT_PROMPT.search(text):
        return True
    prompt = _words(system_prompt)
    shingles = {tuple(prompt[i : i + SHINGLE]) for i in range(len(prompt) - SHINGLE + 1)}
    reply = _words(text)
    return any(tuple(reply[i : i + SHINGLE]) in shingles for i in range(len(reply) - SHINGLE + 1))


def _strings(value: Any, into: set[str]) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _strings(item, into)
    elif isinstance(value, list | tuple):
        for item in value:
            _strings(item, into)
    elif isinstance(value, str | int) and not isinstance(value, bool):
        into.update(re.findall(r"\d+", str(value)))


def other_customer_data(text: str, account_id: str | None, *, known: Any = ()) -> bool:
    """Whether the reply shows data of a customer other than the verified one. `known`: the
    results of the calls the policy allowed (the customer's own tracking numbers, say)."""
    seen: set[str] = set()
    _strings(list(known), seen)
    own = Customer.objects.filter(customer_id=account_id).first() if account_id else None
    emails = {e.lower().rstrip(".") for e in _EMAIL.findall(text)}
    if emails and (own is None or emails - {own.email.lower()}):
        return True
    order_ids = {"#" + o.upper() for o in _ORDER.findall(text)}
    if order_ids:
        theirs = Order.objects.filter(order_id__in=order_ids)
        if own is None or theirs.exclude(customer=own).exists():
            return True
    idents = set(_IDENT.findall(text)) - {account_id}
    if idents and Customer.objects.filter(customer_id__in=idents).exists():
        return True
    own_phone = re.sub(r"\D", "", own.phone) if own else ""
    for phone in _PHONE.findall(text):
        digits = re.sub(r"\D", "", phone)
        if len(digits) >= 10 and digits != own_phone and not any(digits in s for s in seen):
            return True
    return False


def _store_amounts(account_id: str | None) -> set[Decimal]:
    """Amounts the store holds that a reply may state: prices of its products, and the
    verified customer's order totals, item prices and payments."""
    amounts = set(Variant.objects.values_list("price", flat=True).distinct())
    if account_id:
        orders = Order.objects.filter(customer__customer_id=account_id)
        amounts |= set(orders.values_list("total", flat=True))
        amounts |= set(OrderItem.objects.filter(order__in=orders).values_list("price", flat=True))
        amounts |= set(Payment.objects.filter(order__in=orders).values_list("amount", flat=True))
    return {Decimal(a).quantize(Decimal("0.01")) for a in amounts}


def unbacked_promise(
    text: str, *, records: list[ToolRecord], history: list[dict[str, Any]], account_id: str | None
) -> bool:
    given = [r for r in records if r.executed and r.tool in _GIVES_MONEY] + [
        h for h in history if h.get("status") == "ok" and h.get("tool") in _GIVES_MONEY
    ]
    backed: set[Decimal] = set()
    for record in records:
        if record.status == "ok":
            _numbers(record.result, backed)
    for earlier in history:
        if earlier.get("status") == "ok":
            _numbers(earlier.get("result"), backed)
    refused: set[Decimal] = set()
    for record in records:
        if record.status != "ok":
            _numbers(record.args, refused)
    store: set[Decimal] | None = None
    for sentence in _SENTENCE.split(text):
        negated = bool(_NEGATION.search(sentence))
        if _DEAL.search(sentence) and not negated:
            return True
        if _GIVING.search(sentence) and not negated and not given:
            return True
        for match in _AMOUNT.finditer(sentence):
            value = _amount(
                (match.group(1) or match.group(3)) + (match.group(2) or match.group(4) or "")
            )
            if value is None or value in backed or (negated and value in refused):
                continue
            if store is None:
                store = _store_amounts(account_id)
            if value not in store:
                return True
    return False


def turn_filter(
    *,
    turn: Turn,
    account_id: str | None,
    system_prompt: str,
    history: list[dict[str, Any]] | None = None,
) -> Turn:
    """The turn as it may be sent: unchanged, or with a safe reply and the blocks named."""
    blocked = []
    if prompt_leaks(turn.text, system_prompt):
        blocked.append(PROMPT_LEAK)
    known = [r.result for r in turn.tools if r.status == "ok"]
    known += [h.get("result") for h in history or [] if h.get("status") == "ok"]
    if other_customer_data(turn.text, account_id, known=known):
        blocked.append(OTHER_CUSTOMER)
    if unbacked_promise(
        turn.text, records=turn.tools, history=history or [], account_id=account_id
    ):
        blocked.append(UNBACKED_PROMISE)
    if not blocked:
        return turn
    turn.blocked = blocked
    turn.text = SAFE_REPLY if not turn.handoff_reason else "Sorry, I can't help with that here."
    turn.confidence = min(turn.confidence, 0.3)
    return turn
