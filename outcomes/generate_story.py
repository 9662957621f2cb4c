"""The causal story behind generated history (outcomes/generate.py): who the customers are,
what each contact is about, how it goes, how the customer feels about it, and what they do in
the store afterwards. Pure: plain values from one seeded RNG, no database.

The story, in the order things happen (the reports must find its effects, not be told them):
1. A customer (tier standard/silver/gold; most known to the store, some only by an email or
   the platform's id) contacts support about a topic. Topics differ in how often the AI can
   answer them (`ai_skill`), how hard they are for anyone (`difficulty`) and how much the
   problem itself pushes a subscriber to cancel (`cancel_pull`).
2. Some customers ask for a person at once (human_direct; more for sensitive topics). Otherwise
   the AI answers substantively with probability ai_skill; if not, the customer rephrases for
   a few rounds (the longer, the more annoyed), then gives up, is closed without an answer
   (deflected), or is handed to a person (ai_then_human).
3. A handed-off customer waits in the queue. The wait depends on the hour (busy hours queue
   longer), not on the path. The longer the wait, the likelier the customer leaves the queue.
   Each agent has their own habit of skipping the greeting (a cold greeting); a cold agent asks
   for the order again, and a customer who already told the AI then repeats it. Some cases are
   transferred, some end in a follow-up, some are handed back to the AI (a few of those come
   back for a second escalation).
4. How the customer feels (a latent experience on a 1-5 scale) follows from what happened: a
   substantive, correct answer feels good; every round of fighting the bot, each minute of
   waiting, repeating oneself, a cold greeting, a transfer and an unfinished ending feel bad;
   hard topics feel worse whoever handles them. The AI part and the human part are felt apart;
   overall is their blend. About 30% answer the survey, unhappy and delighted customers more
   often; the rating is the experience with noise.
5. Some answers were wrong: the problem is not solved, and the customer comes back on the same
   topic within days. Others come back weeks later about something else.
6. Customers buy at a rate set by their tier, and subscribers cancel at a baseline rate. For
   the 60 days after a contact, the buying rate is raised or lowered by the contact's
   experience (and lowered by a hard topic), and the cancelling rate is multiplied by the
   topic's pull and raised by a bad experience. Customers who never contact support keep the
   baselines: the topic's problem, not support, is part of why contacting customers churn more
   (the confounder the reports stratify by topic for).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Topic:
    key: str
    share: float
    ai_skill: float
    difficulty: float
    cancel_pull: float
    team: str = "general"
    human_first: float = 0.05
    opening: str = "I need help with order {order}."
    answer: str = "I've checked order {order}: it's all in order now."
    tool: str = "get_order_details"


TOPICS: tuple[Topic, ...] = (
    Topic(
        "order_status",
        24,
        0.88,
        0.1,
        0.8,
        opening="Where is my order {order}? It was due two days ago.",
        answer="Order {order} left the warehouse yesterday and arrives on Thursday.",
    ),
    Topic(
        "shipping",
        11,
        0.78,
        0.2,
        1.0,
        opening="The tracking for {order} hasn't moved in a week.",
        answer="The carrier rescanned {order} this morning; it's out for delivery.",
        tool="get_tracking",
    ),
    Topic(
        "return",
        14,
        0.8,
        0.2,
        1.1,
        opening="I'd like to return the jacket from order {order}, it's the wrong size.",
        answer="I've started the return for {order}; the label is in your email.",
        tool="return_order_items",
    ),
    Topic(
        "exchange",
        6,
        0.7,
        0.3,
        1.0,
        opening="Can I exchange the boots in {order} for a size up?",
        answer="Done: the bigger size ships today and the label for the old pair is attached.",
        tool="exchange_order_items",
    ),
    Topic(
        "refund",
        10,
        0.45,
        0.5,
        1.6,
        opening="I was charged for {order} but it never came. I want my money back.",
        answer="I've refunded {order} in full to your card; it shows in 3-5 days.",
        tool="refund_payment",
    ),
    Topic(
        "billing",
        8,
        0.55,
        0.4,
        1.8,
        opening="There's a charge on my card I don't recognise, from order {order}.",
        answer="That charge is the renewal of your subscription on the 3rd.",
        tool="get_payments",
    ),
    Topic(
        "account",
        7,
        0.82,
        0.1,
        0.9,
        opening="I can't log in to my account, my email is {email}.",
        answer="I've sent a reset link to {email}.",
        tool="send_password_reset",
    ),
    Topic(
        "cancellation",
        6,
        0.5,
        0.4,
        4.0,
        human_first=0.12,
        opening="I want to cancel my subscription, it's too expensive.",
        answer="I've cancelled the renewal; you keep the plan until the end of the period.",
        tool="cancel_subscription",
    ),
    Topic(
        "product_question",
        9,
        0.76,
        0.1,
        0.7,
        opening="Is the tent from order {order} waterproof enough for heavy rain?",
        answer="Yes: it's rated 3000 mm, fine for heavy rain with the fly on.",
        tool="get_product_details",
    ),
    Topic(
        "shipping_damage",
        4,
        0.35,
        0.6,
        1.7,
        opening="Order {order} arrived with the stove broken in the box.",
        answer="A replacement for {order} ships today; no need to send the broken one back.",
        tool="exchange_order_items",
    ),
    Topic(
        "bereavement",
        0.7,
        0.05,
        0.7,
        3.0,
        team="specialists",
        human_first=0.5,
        opening="My father passed away and I need to close his account. Order {order} is "
        "still coming.",
    ),
    Topic(
        "fraud",
        0.5,
        0.05,
        0.6,
        2.0,
        team="trust-and-safety",
        human_first=0.4,
        opening="Someone placed order {order} on my account and it wasn't me.",
    ),
)

TIERS = (("standard", 70), ("silver", 20), ("gold", 10))
# Probability of another order within 60 days, with no contact in between.
REPURCHASE_60D = {"standard": 0.30, "silver": 0.45, "gold": 0.60}
# Probability that an active subscription is cancelled within 60 days, likewise.
CANCEL_60D = 0.06
SURVEY_BASE = 0.22
FIRST = ("Noah", "Emma", "Liam", "Olivia", "Ava", "Mia", "Lucas", "Zoe", "Omar", "Ines")
LAST = ("Silva", "Kim", "Novak", "Okafor", "Berg", "Moreau", "Rossi", "Haddad", "Ito", "Lopez")


@dataclass(slots=True)
class Customer:
    index: int
    # bound: the conversation is bound to the store account; email_store: the customer gave
    # the email of a store account; email: an email unknown to the store; ext: the platform's
    # id only.
    known_as: str
    tier: str
    first: str
    last: str
    subscriber: bool
    orders: list[datetime] = field(default_factory=list)
    subscription_ended: datetime | None = None

    @property
    def in_store(self) -> bool:
        return self.known_as in ("bound", "email_store")


@dataclass(slots=True)
class Stint:
    """One case of a contact, as the story decided it."""

    opened_at: datetime
    wait: float  # seconds from handoff to the first human reply (or to leaving the queue)
    left_queue: bool
    agent: int  # index into the story's agents
    cold: bool
    repeated: bool
    transferred_to: int | None
    end: str  # resolved, follow_up, handed_back ('' when left in the queue)
    handled: float  # seconds from the first reply to the resolve


@dataclass(slots=True)
class Contact:
    customer: Customer
    topic: Topic
    started: datetime
    path: str
    ai_rounds: int
    ai_seconds: float
    substantive: bool
    solved: bool
    confirmed: bool
    close: str
    stints: list[Stint]
    experience: float
    experience_ai: float
    experience_human: float
    ended: datetime
    # (part, rating, before_close)
    ratings: list[tuple[str, int, bool]] = field(default_factory=list)


def tier_pick(rng: random.Random) -> str:
    return rng.choices([t for t, _ in TIERS], [w for _, w in TIERS])[0]


def customer_new(rng: random.Random, index: int) -> Customer:
    known_as = rng.choices(["bound", "email_store", "email", "ext"], [68, 20, 8, 4])[0]
    return Customer(
        index=index,
        known_as=known_as,
        tier=tier_pick(rng),
        first=rng.choice(FIRST),
        last=rng.choice(LAST),
        subscriber=rng.random() < 0.4,
    )


def busy(at: datetime) -> float:
    """How loaded the queue is at this hour, 0.3 (night) to 1.6 (weekday midday)."""
    hour = at.hour + at.minute / 60
    day = math.exp(-(((hour - 13) / 3.5) ** 2))
    return (0.3 + 1.3 * day) * (0.8 if at.weekday() >= 5 else 1.0)


def start_time(rng: random.Random, day_start: datetime) -> datetime:
    # Customers write mostly in the day: a bump around 13:00 on top of a floor.
    hour = min(23.99, max(0.0, rng.gauss(13, 4.5))) if rng.random() < 0.85 else rng.uniform(0, 24)
    return day_start + timedelta(hours=hour)


def _clamp(value: float, low: float = 1.0, high: float = 5.0) -> float:
    return max(low, min(high, value))


def contact_play(
    rng: random.Random, *, customer: Customer, started: datetime, topic: Topic, agents: int
) -> Contact:
    """Decide how one contact goes, per the story (module docstring, steps 2-4)."""
    human_first = topic.human_first + (0.04 if customer.tier == "gold" else 0.0)
    stints: list[Stint] = []
    substantive = solved = confirmed = False
    rounds = 0
    if rng.random() < human_first:
        path = "human_direct"
    else:
        substantive = rng.random() < topic.ai_skill
        rounds = 1 if substantive else 1 + min(5, int(rng.expovariate(0.6)))
        if substantive:
            solved = rng.random() < 0.85
            path = "ai_then_human" if rng.random() < 0.04 else "ai_only"
            confirmed = path == "ai_only" and rng.random() < 0.3
        else:
            path = rng.choices(
                ["ai_then_human", "abandoned", "deflected"],
                [0.55 + 0.05 * rounds, 0.2, 0.25],
            )[0]
    ai_seconds = rounds * rng.uniform(50, 110)
    experience_ai = (
        (4.5 if solved else 3.7) if substantive else 2.6 - 0.25 * (rounds - 1)
    ) - 0.6 * topic.difficulty
    close = "resolved"
    at = started + timedelta(seconds=ai_seconds)
    if path in ("abandoned", "deflected"):
        close = "abandoned" if path == "abandoned" else "resolved"
        path = "ai_only"
        experience_ai -= 0.4 if close == "abandoned" else 0.2
    experience_human = 0.0
    if path != "ai_only":
        solved, experience_human, at, close = _human_part(
            rng,
            stints=stints,
            topic=topic,
            at=at + timedelta(seconds=5),
            path=path,
            agents=agents,
            ai_long=ai_seconds > 300,
        )
    if path == "ai_only":
        experience = experience_ai
    elif path == "human_direct":
        experience = experience_human
    else:
        experience = 0.3 * experience_ai + 0.7 * experience_human - (0.3 if rounds > 3 else 0)
    contact = Contact(
        customer=customer,
        topic=topic,
        started=started,
        path=path,
        ai_rounds=rounds,
        ai_seconds=ai_seconds,
        substantive=substantive,
        solved=solved,
        confirmed=confirmed,
        close=close,
        stints=stints,
        experience=_clamp(experience),
        experience_ai=_clamp(experience_ai),
        experience_human=_clamp(experience_human) if stints else 0.0,
        ended=at + timedelta(seconds=rng.uniform(10, 60)),
    )
    contact.ratings = _survey(rng, contact)
    return contact


def _human_part(
    rng: random.Random,
    *,
    stints: list[Stint],
    topic: Topic,
    at: datetime,
    path: str,
    agents: int,
    ai_long: bool,
) -> tuple[bool, float, datetime, str]:
    """The cases of an escalated contact; returns (solved, human experience, end, close)."""
    experience = 4.4 - 0.6 * topic.difficulty - (0.3 if ai_long else 0.0)
    for attempt in range(2):
        # A log-normal wait whose median grows with the hour's load: 1 to 8 minutes.
        wait = 60 * rng.lognormvariate(math.log(1.0 + 4.5 * busy(at)), 0.8)
        left = rng.random() < 1 - math.exp(-wait / 3600)
        agent = rng.randrange(agents)
        cold = rng.random() < 0.05 + 0.45 * ((agent * 7) % 10) / 10
        told_ai = path == "ai_then_human" or attempt > 0
        repeated = told_ai and rng.random() < (0.08 + (0.55 if cold else 0.0))
        transferred = None if rng.random() > 0.08 else (agent + 1) % agents
        end = "" if left else rng.choices(["resolved", "follow_up", "handed_back"], [76, 14, 10])[0]
        handled = 60 * rng.lognormvariate(math.log(5 + 6 * topic.difficulty), 0.5)
        stints.append(
            Stint(at, wait, left, agent, cold, repeated, transferred, end, 0 if left else handled)
        )
        experience -= 0.45 * math.log1p(wait / 180)
        if left:
            return False, _clamp(experience - 1.0), at + timedelta(seconds=wait), "abandoned"
        experience -= (0.9 if repeated else 0) + (0.5 if cold else 0)
        experience -= 0.5 if transferred is not None else 0
        at += timedelta(seconds=wait + handled)
        if end == "handed_back" and attempt == 0 and rng.random() < 0.3:
            experience -= 0.4
            at += timedelta(seconds=rng.uniform(60, 240))
            continue
        break
    end = stints[-1].end
    experience += {"resolved": 0.0, "follow_up": -0.8, "handed_back": -0.3}[end]
    solved = (end == "resolved" and rng.random() < 0.92) or (
        end == "handed_back" and rng.random() < 0.6
    )
    return solved, experience, at + timedelta(seconds=rng.uniform(30, 120)), "resolved"


def _survey(rng: random.Random, contact: Contact) -> list[tuple[str, int, bool]]:
    """Who answers the survey, and what they give (story step 4)."""
    distance = abs(contact.experience - 3.0) / 2.0
    if rng.random() > SURVEY_BASE + 0.16 * distance:
        return []

    def rating(experience: float) -> int:
        return int(_clamp(round(experience + rng.gauss(0, 0.75))))

    before = rng.random() < 0.05
    if contact.path == "ai_only":
        part = "ai" if rng.random() < 0.5 else "overall"
        return [(part, rating(contact.experience_ai), before)]
    answers = [("human", rating(contact.experience_human), before)]
    if contact.path == "ai_then_human":
        answers.insert(0, ("ai", rating(contact.experience_ai), before))
    if rng.random() < 0.5:
        answers.append(("overall", rating(contact.experience), before))
    return answers


def _hazard_60d(probability: float) -> float:
    """The daily hazard with this probability of at least one event in 60 days."""
    return -math.log(1 - probability) / 60


def store_activity(
    rng: random.Random,
    customer: Customer,
    contacts: Sequence[Contact],
    *,
    since: datetime,
    now: datetime,
) -> None:
    """The customer's orders and their subscription's end from `since` to `now` (story step
    6): the tier's baseline hazards, multiplied for the 60 days after each contact by what it
    was like (the latest contact's, where windows overlap). Sampled by thinning."""
    windows = []
    for contact in contacts:
        # Centred on a good contact (4 of 5): a bad one lowers buying and raises cancelling.
        shift = contact.experience - 4.0
        buy = math.exp(0.3 * shift) * (1 - 0.25 * contact.topic.difficulty)
        cancel = contact.topic.cancel_pull * math.exp(-0.55 * shift)
        windows.append((contact.ended, contact.ended + timedelta(days=60), buy, cancel))

    def events(base: float, part: int) -> Iterator[datetime]:
        top = base * max([1.0] + [w[part] for w in windows])
        at = since
        while True:
            at += timedelta(days=rng.expovariate(top))
            if at >= now:
                return
            factor = next((w[part] for w in reversed(windows) if w[0] <= at < w[1]), 1.0)
            if rng.random() * top < base * factor:
                yield at

    customer.orders.extend(events(_hazard_60d(REPURCHASE_60D[customer.tier]), 2))
    if customer.subscriber:
        customer.subscription_ended = next(events(_hazard_60d(CANCEL_60D), 3), None)


def next_contact(rng: random.Random, contact: Contact) -> tuple[float, bool] | None:
    """When the customer comes back (days after this contact ended) and whether on the same
    topic, or None (story step 5)."""
    if not contact.solved and rng.random() < 0.6:
        return rng.uniform(0.2, 7.0), True
    if rng.random() < 0.08:
        return rng.uniform(1, 30), True
    if rng.random() < 0.35:
        return rng.expovariate(1 / 45), False
    return None
