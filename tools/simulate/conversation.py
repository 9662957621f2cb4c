"""Turning a script of scenarios.json into one conversation's events.

A scenario is a script of steps. A step is one of
  {"customer": text}  {"ai": text}  {"signal": {...}}  {"tool": name, "args", "status", "result"}
  {"handoff": reason, "note": text}  {"close": outcome}
Strings are str.format templates over the conversation's variables (see `conversation_vars`);
a string that is exactly "{name}" becomes the variable's own value, so numbers stay numbers.
{"one_of": [...]} means one of these, picked per conversation.
"""

from __future__ import annotations

import random
import re
import string
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tools.simulate.cast import CastMember, cast_vars, day
from tools.simulate.data import Product, Step, catalog, scripts

_WHOLE_VARIABLE = re.compile(r"\{(\w+)\}")


def _order_id(rng: random.Random) -> str:
    return f"#W{rng.randrange(10**7):07d}"


def _tracking_number(rng: random.Random, carrier: str) -> str:
    if carrier == "UPS":
        return "1Z" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16))
    if carrier == "FedEx":
        return "".join(rng.choices(string.digits, k=12))
    return "9400" + "".join(rng.choices(string.digits, k=18))


def _price(rng: random.Random, product: Product) -> float:
    # As the demo store prices its variants: anywhere in the product's range, to the cent.
    return rng.randint(int(product.low * 100), int(product.high * 100)) / 100


def conversation_vars(rng: random.Random) -> dict[str, Any]:
    """Made-up variables for a conversation: a customer nobody knows, the shop's products."""
    made_up, shop = scripts().made_up, catalog()
    limit = scripts().ai_refund_limit
    # Products dear enough that a refund or a sale-price difference is over the AI's limit.
    big_ticket = [p for p in shop.products if p.low >= 2.5 * limit]
    stoves = [p.name for p in shop.products if "fuel" in p.options]
    first, last = rng.choice(made_up.first_names), rng.choice(made_up.last_names)
    domain = rng.choice(made_up.email_domains)
    product = rng.choice(shop.products)
    big_product = rng.choice(big_ticket)
    big_price = _price(rng, big_product)
    size, size_up = rng.choice(made_up.sizes)
    plan, plan_price = (
        rng.choice(shop.subscription_plans),
        rng.choice(shop.subscription_prices),
    )
    carrier = rng.choice(shop.carriers)
    deceased = rng.choice(made_up.father_names)
    street, (city, state, zip_code) = rng.choice(made_up.streets), rng.choice(made_up.cities)
    now = datetime.now(UTC)
    return {
        "first": first,
        "last": last,
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@{domain}",
        "phone": f"+1{rng.choice(made_up.area_codes)}555{rng.randint(100, 199):04d}",
        "external_id": f"cus_{rng.randrange(16**10):010x}",
        "order": _order_id(rng),
        "order2": _order_id(rng),
        "product": product.name,
        "category": product.category,
        "category_upper": product.category.upper(),
        "price": _price(rng, product),
        "big_product": big_product.name,
        "big_price": big_price,
        "price_drop": round(big_price * rng.uniform(0.42, 0.5), 2),
        "stove": rng.choice(stoves),
        "size": size,
        "size_up": size_up,
        "stock": rng.randint(2, 40),
        "carrier": carrier,
        "tracking": _tracking_number(rng, carrier),
        "eta": day(now + timedelta(days=rng.randint(1, 5))),
        "ordered": day(now - timedelta(days=rng.randint(4, 20))),
        "days": rng.randint(3, 12),
        "return_days_left": rng.randint(5, 55),
        "rma": f"RMA-{rng.randrange(10**6):06d}",
        "amount": round(rng.uniform(limit + 20, 600), 2),
        "limit": limit,
        "injected": float(rng.choice((500, 500, 750, 1000))),
        "plan": plan,
        "plan_price": plan_price,
        "next_charge": (now + timedelta(days=rng.randint(3, 28))).date().isoformat(),
        "deceased": deceased,
        "deceased_email": f"{deceased[0].lower()}{last.lower()}{rng.randint(40, 79)}@{domain}",
        "address": f"{rng.randint(12, 4999)} {street}, {city}, {state} {zip_code}",
    }


def render(value: Any, *, variables: dict[str, Any], rng: random.Random) -> Any:
    if isinstance(value, dict) and value.keys() == {"one_of"}:
        return render(rng.choice(value["one_of"]), variables=variables, rng=rng)
    if isinstance(value, str):
        whole = _WHOLE_VARIABLE.fullmatch(value)
        if whole:
            return variables[whole.group(1)]
        return value.format_map(variables)
    if isinstance(value, dict):
        return {k: render(v, variables=variables, rng=rng) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, variables=variables, rng=rng) for v in value]
    return value


def event_body(step: Step, *, variables: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Turns a script step into an event without its envelope (id, conversation, seq, at)."""
    if "customer" in step or "ai" in step:
        role = "customer" if "customer" in step else "ai"
        text = render(step[role], variables=variables, rng=rng)
        return {"type": "message", "role": role, "text": text}
    if "signal" in step:
        fields = dict(step["signal"])
        if "confidence" in fields:
            # Jitter so that repeated scripts do not all sit exactly on a rule's threshold.
            jittered = fields["confidence"] + rng.uniform(-0.05, 0.05)
            fields["confidence"] = round(min(1.0, max(0.0, jittered)), 3)
        return {"type": "ai_signal", **fields}
    if "tool" in step:
        body = {
            "type": "tool_call",
            "tool": step["tool"],
            "args": render(step.get("args", {}), variables=variables, rng=rng),
            "status": step["status"],
        }
        if "result" in step:
            body["result"] = render(step["result"], variables=variables, rng=rng)
        return body
    if "handoff" in step:
        body = {"type": "handoff", "reason": step["handoff"]}
        if "note" in step:
            body["note"] = render(step["note"], variables=variables, rng=rng)
        return body
    if "close" in step:
        return {"type": "close", "outcome": step["close"]}
    raise ValueError(f"unknown script step: {step!r}")


@dataclass
class Conversation:
    id: str
    kind: str
    variables: dict[str, Any]
    steps: deque[dict[str, Any]]
    seq: int = 0
    owner: str = "ai"
    taken_by: str = ""
    ending: str = ""
    refused: bool = False
    unacked: int = 0
    reported: bool = False
    counted: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    # Messages a person at the desk sent it.
    agent_messages: int = 0
    # time.monotonic() when a person took it over, and the wait to their first message.
    human_since: float | None = None
    human_wait: float | None = None

    @property
    def customer(self) -> dict[str, str]:
        return {key: self.variables[key] for key in ("external_id", "email", "name", "phone")}


def new_conversation(
    *, conversation_id: str, rng: random.Random, cast: Sequence[CastMember] = ()
) -> Conversation:
    kinds = scripts().kinds
    kind = rng.choice(sorted(kinds))
    scenario = rng.choice(kinds[kind])
    variables = conversation_vars(rng)
    if cast:
        variables.update(cast_vars(rng, kind=kind, cast=cast))
        variables["name"] = f"{variables['first']} {variables['last']}"
    steps = deque(event_body(s, variables=variables, rng=rng) for s in scenario["steps"])
    return Conversation(id=conversation_id, kind=kind, variables=variables, steps=steps)


# How likely a customer answers the survey after the close, and what they give: weights of
# the ratings 1 to 5 for what they lived through.
SURVEY_RESPONSE_RATE = 0.3
_RATINGS = {
    "ai_resolved": (3, 5, 12, 35, 45),
    "ai_abandoned": (35, 30, 20, 10, 5),
    # The AI could not finish, so its part rates lower once a person had to step in.
    "ai_before_human": (20, 30, 28, 15, 7),
    "human": (4, 7, 17, 37, 35),
    "human_slow": (12, 18, 28, 27, 15),
}
_COMMENTS = {
    1: ("Useless.", "I gave up."),
    2: ("Took far too long.", "Had to explain everything twice."),
    4: ("Helpful, thanks.",),
    5: ("Brilliant, sorted in minutes!", "Lovely person, thank you."),
}
# A wait for a person longer than this (seconds, to their first message) rates lower.
SLOW_HUMAN_SECONDS = 120.0


def survey_steps(
    conversation: Conversation, *, outcome: str, rng: random.Random
) -> list[dict[str, Any]]:
    """The customer's answers to the survey sent after the close (`feedback` events without
    their envelope), or none: about 30% answer. A conversation the AI kept is rated for the AI
    (or overall); one a person took over is rated for both parts, sometimes overall too."""
    if rng.random() >= SURVEY_RESPONSE_RATE:
        return []

    def rating(kind: str) -> int:
        return rng.choices(range(1, 6), _RATINGS[kind])[0]

    if not conversation.taken_by:
        kind = "ai_resolved" if outcome == "resolved" else "ai_abandoned"
        answers = [("ai" if rng.random() < 0.5 else "overall", rating(kind))]
    else:
        slow = conversation.human_wait is None or conversation.human_wait > SLOW_HUMAN_SECONDS
        human = rating("human_slow" if slow else "human")
        answers = [("ai", rating("ai_before_human")), ("human", human)]
        if rng.random() < 0.5:
            answers.append(("overall", human))
    steps = []
    for part, value in answers:
        body: dict[str, Any] = {"type": "feedback", "rating": value, "part": part}
        if value in _COMMENTS and rng.random() < 0.3:
            body["comment"] = rng.choice(_COMMENTS[value])
        steps.append(body)
    return steps


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
