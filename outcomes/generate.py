"""Generated history for the metrics (`manage.py generate_history`): conversations with their
events, cases with timelines and packets, store customers with orders and subscriptions, and
the contacts, decided by the same classify() the live path uses.

What happens in each contact is outcomes/generate_story.py's causal story. This module plays
it per customer (all of one customer's contacts, so recurrence is known in memory), renders the
rows the services would have stored, writes them in bulk (outcomes/bulk_rows.py: COPY on
PostgreSQL), builds each contact's ContactHistory in memory, classifies it and saves the
contacts through contacts_save, one batch of customers at a time. Then rollups_refresh.

Not written: the engine's per-message analyses and conversation states, payments and order
items (the metrics read none of them). Run it alone: ids are taken from max(id) + 1.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from conversations.models import Conversation, CustomerRef, Event, Integration
from conversations.services import integration_create, token_hash
from escalation.models import Case, CaseEvent, HandoffPacket
from outcomes.bulk_rows import Table, sequences_reset
from outcomes.classify import ContactFacts, classify
from outcomes.generate_render import render
from outcomes.generate_story import (
    TOPICS,
    Contact,
    Customer,
    contact_play,
    customer_new,
    next_contact,
    start_time,
    store_activity,
)
from outcomes.history import ContactHistory, LaterContact, StoreActivity, Turn
from outcomes.history import customer_key as customer_key_of
from outcomes.services import contacts_save
from store.models import Customer as StoreCustomer
from store.models import Order, Subscription

HISTORY_INTEGRATION = "generated-history"
AGENT_NAMES = (
    ("Ana", "Pereira"),
    ("Ben", "Carter"),
    ("Chloe", "Martin"),
    ("Dev", "Patel"),
    ("Elif", "Demir"),
    ("Finn", "Larsen"),
    ("Grace", "Owusu"),
    ("Hugo", "Blanc"),
    ("Isla", "Murray"),
    ("Jonas", "Weber"),
    ("Kofi", "Mensah"),
    ("Lena", "Fischer"),
)
# Share of no-contact store customers beside each contacting one: the churn comparison group.
NO_CONTACT_SHARE = 0.4


class HistoryExists(Exception):
    """Generated history is already in this database (pass append=True to add more)."""


@dataclass(frozen=True)
class GenerateCounts:
    conversations: int
    events: int
    cases: int
    customers: int
    orders: int

    def line(self) -> str:
        return (
            f"{self.conversations} conversations, {self.events} events, {self.cases} cases, "
            f"{self.customers} store customers, {self.orders} orders"
        )


def history_generate(
    *,
    conversations: int,
    days: int,
    seed: int = 12,
    now: datetime | None = None,
    append: bool = False,
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> GenerateCounts:
    """Generate `conversations` contacts over the `days` days before `now` (rounded to the
    hour), seeded. Refuses (HistoryExists) when generated history is already here, unless
    `append`."""
    now = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    integration = Integration.objects.filter(name=HISTORY_INTEGRATION).first()
    if (
        integration is not None
        and not append
        and Conversation.objects.filter(integration=integration).exists()
    ):
        raise HistoryExists(HISTORY_INTEGRATION)
    if integration is None:
        integration, token = integration_create(name=HISTORY_INTEGRATION)
        # Nobody ingests with it: its token is forgotten at once.
        Integration.objects.filter(pk=integration.pk).update(
            token_hash=token_hash(f"{token}-forgotten")
        )
    writer = _Writer(integration=integration, now=now, days=days, agents=_agents_ensure())
    rng = random.Random(seed)
    tick = progress or (lambda n: None)
    made = customers = 0
    while made < conversations:
        streams: list[list[Contact]] = []
        size = 0
        while size < batch and made + size < conversations:
            stream = _stream(rng, customers, now=now, days=days, limit=conversations - made - size)
            customers += 1
            streams.append(stream)
            size += len(stream)
        with transaction.atomic():
            writer.batch_write(rng, streams)
        made += size
        tick(size)
    sequences_reset(writer.tables)
    from outcomes.rollups import rollups_refresh

    rollups_refresh()
    return writer.counts(made)


def _agents_ensure() -> list[tuple[int, str]]:
    """The generated history's agents: inactive users who cannot log in (id, name)."""
    user_model = get_user_model()
    agents = []
    for index, (first, last) in enumerate(AGENT_NAMES, start=1):
        user, created = user_model.objects.get_or_create(
            username=f"history-agent-{index:02d}",
            defaults={"first_name": first, "last_name": last, "is_active": False},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        agents.append((user.pk, f"{first} {last}"))
    return agents


def _stream(
    rng: random.Random, index: int, *, now: datetime, days: int, limit: int
) -> list[Contact]:
    """One customer's contacts in order: the first on a random day, the rest as they come back."""
    customer = customer_new(rng, index)
    topics, shares = TOPICS, [t.share for t in TOPICS]
    first_day = (now - timedelta(days=rng.uniform(0, days))).replace(hour=0, minute=0, second=0)
    started = start_time(rng, first_day)
    topic = rng.choices(topics, shares)[0]
    contacts: list[Contact] = []
    while started < now and len(contacts) < limit:
        contact = contact_play(
            rng, customer=customer, started=started, topic=topic, agents=len(AGENT_NAMES)
        )
        if contact.ended >= now:
            break
        contacts.append(contact)
        following = next_contact(rng, contact)
        if following is None:
            break
        gap, same = following
        started = contact.ended + timedelta(days=gap)
        if not same:
            topic = rng.choices(topics, shares)[0]
    if customer.in_store and contacts:
        store_activity(rng, customer, contacts, since=contacts[0].started, now=now)
    return contacts


class _Writer:
    def __init__(
        self, *, integration: Integration, now: datetime, days: int, agents: list[tuple[int, str]]
    ) -> None:
        self.integration = integration
        self.now = now
        self.days = days
        self.agents = agents
        self.refs = Table(CustomerRef)
        self.conversations = Table(Conversation)
        self.events = Table(Event)
        self.cases = Table(Case)
        self.timeline = Table(CaseEvent)
        self.packets = Table(HandoffPacket)
        self.store_customers = Table(StoreCustomer)
        self.orders = Table(Order)
        self.subscriptions = Table(Subscription)
        self.tables = [
            self.refs,
            self.conversations,
            self.events,
            self.cases,
            self.timeline,
            self.packets,
            self.store_customers,
            self.orders,
            self.subscriptions,
        ]
        # Unique tags for this run's external ids: past every id written before.
        self.tag = f"g{max(self.conversations.next_id, self.refs.next_id)}"
        taken = set(Order.objects.values_list("order_id", flat=True))
        self.order_numbers = (
            n
            for k in range(9_000_000)
            if f"#W{(n := 1_000_000 + (k * 7919 + 4_321_987) % 9_000_000)}" not in taken
        )
        self.totals = {"events": 0, "cases": 0, "customers": 0, "orders": 0}

    def counts(self, conversations: int) -> GenerateCounts:
        return GenerateCounts(conversations, **self.totals)

    def _order_id(self) -> str:
        return f"#W{next(self.order_numbers)}"

    def batch_write(self, rng: random.Random, streams: list[list[Contact]]) -> None:
        facts: list[tuple[int, ContactFacts]] = []
        for stream in streams:
            if not stream:
                continue
            customer = stream[0].customer
            store_id, email, order_ids = self._customer_rows(rng, customer, stream)
            ref_id = None
            if customer.known_as != "email":
                ref_id = self._ref(customer, email=email)
            for position, contact in enumerate(stream):
                if customer.known_as == "email":
                    # No platform id: the ingest keeps one reference per conversation.
                    ref_id = self._ref(customer, email=email)
                conversation_id, history = self._contact_rows(
                    rng,
                    contact,
                    ref_id=ref_id,
                    store_id=store_id,
                    email=email,
                    order=order_ids[position % len(order_ids)],
                )
                later = [LaterContact(c.started, c.topic.key) for c in stream[position + 1 :]]
                activity = None
                if customer.in_store:
                    activity = StoreActivity(
                        orders_at=tuple(customer.orders),
                        subscriptions_ended_at=tuple(
                            [customer.subscription_ended] if customer.subscription_ended else []
                        ),
                    )
                facts.append(
                    (
                        conversation_id,
                        classify(history, later=later, now=self.now, activity=activity),
                    )
                )
        for _ in range(round(NO_CONTACT_SHARE * len(streams))):
            self._customer_rows(rng, customer_new(rng, -1), [])
        self.totals["events"] += len(self.events.rows)
        self.totals["cases"] += len(self.cases.rows)
        self.totals["customers"] += len(self.store_customers.rows)
        self.totals["orders"] += len(self.orders.rows)
        for table in self.tables:
            table.write()
        contacts_save(facts)

    def _customer_rows(
        self, rng: random.Random, customer: Customer, stream: list[Contact]
    ) -> tuple[str, str, list[str]]:
        """The store rows of a customer (none for those the store does not know): returns
        their store id, their email and the ids of their orders placed before each contact."""
        serial = f"{self.tag}-{self.store_customers.next_id}"
        email = f"{customer.first.lower()}.{customer.last.lower()}.{serial}@example.com"
        if stream and not customer.in_store:
            return "", email, [self._order_id() for _ in range(2)]
        # No-contact customers are measured over the whole range and the 60 days before it.
        first_at = stream[0].started if stream else self.now - timedelta(days=self.days + 60)
        before = [first_at - timedelta(days=rng.uniform(3, 200)) for _ in range(rng.randint(1, 3))]
        if not stream:
            store_activity(rng, customer, [], since=first_at, now=self.now)
        created = min(before) - timedelta(days=rng.uniform(1, 400))
        store_id = f"hist_{serial}"
        pk = self.store_customers.add(
            customer_id=store_id,
            first_name=customer.first,
            last_name=customer.last,
            email=email,
            tier=customer.tier,
            lifetime_value=Decimal({"standard": 250, "silver": 900, "gold": 2100}[customer.tier]),
            created_at=created,
        )
        order_ids = []
        for at in sorted(before) + sorted(customer.orders):
            order_id = self._order_id()
            if at < first_at:
                order_ids.append(order_id)
            self.orders.add(
                order_id=order_id,
                customer_id=pk,
                status=Order.Status.DELIVERED,
                total=Decimal(rng.randint(2000, 40000)) / 100,
                created_at=at,
            )
        if customer.subscriber:
            started = created + timedelta(days=rng.uniform(0, 30))
            ended = customer.subscription_ended
            self.subscriptions.add(
                subscription_id=f"sub_{serial}",
                customer_id=pk,
                plan="Trail Club",
                status=Subscription.Status.CANCELLED if ended else Subscription.Status.ACTIVE,
                started_at=started,
                renews_at=None if ended else started + timedelta(days=365),
                ended_at=ended,
                price=Decimal("59.00"),
            )
        return store_id, email, [order_ids[-1]]

    def _ref(self, customer: Customer, *, email: str) -> int:
        external = "" if customer.known_as == "email" else f"cus-{self.tag}-{customer.index}"
        return self.refs.add(
            integration_id=self.integration.pk,
            external_id=external,
            email="" if customer.known_as == "ext" else email,
            name=f"{customer.first} {customer.last}",
            updated_at=self.now,
        )

    def _contact_rows(
        self,
        rng: random.Random,
        contact: Contact,
        *,
        ref_id: int | None,
        store_id: str,
        email: str,
        order: str,
    ) -> tuple[int, ContactHistory]:
        customer = contact.customer
        conversation_id = self.conversations.next_id
        external_id = f"{self.tag}-{conversation_id}"
        played = render(
            rng,
            contact,
            conversation=external_id,
            order=order,
            email=email,
            agents=self.agents,
        )
        event_ids = []
        for turn in played.turns:
            event_ids.append(
                self.events.add(
                    integration_id=self.integration.pk,
                    conversation_id=conversation_id,
                    event_id=turn.payload["id"],
                    seq=turn.seq,
                    type=turn.type,
                    role=turn.role if turn.type == "message" else "",
                    text=turn.text,
                    payload=turn.payload,
                    at=turn.at,
                    received_at=turn.at,
                )
            )
        stints = []
        for case in played.cases:
            case_id = self.cases.next_id
            stints.append(case.stint(case_id))
            self.cases.add(**case.row(conversation_id=conversation_id))
            for kind, at, actor, data in case.steps:
                if kind in ("greeted", "reply"):
                    data = {**data, "event": event_ids[data.pop("seq") - 1]}
                self.timeline.add(case_id=case_id, kind=kind, actor_id=actor, data=data, at=at)
            self.packets.add(
                case_id=case_id,
                version=1,
                backend=HandoffPacket.Backend.EMBEDDED,
                data=case.packet,
                created_at=case.opened_at,
            )
        bound = store_id if customer.known_as == "bound" else ""
        last = played.cases[-1] if played.cases else None
        self.conversations.add(
            integration_id=self.integration.pk,
            external_id=external_id,
            owner="human" if last is not None and last.end != "handed_back" else "ai",
            status=Conversation.Status.CLOSED,
            customer_id=ref_id,
            outcome=contact.close,
            account_id=bound,
            closed_at_seq=played.close_seq,
            last_seq=played.turns[-1].seq,
            created_at=contact.started,
            updated_at=played.turns[-1].at,
            closed_at=contact.ended,
        )
        history = ContactHistory(
            conversation_id=conversation_id,
            started_at=contact.started,
            turns=[
                Turn(t.seq, t.type, t.role, t.text, t.at, {**t.payload, "greeting": True})
                if t.seq in played.greetings
                else t
                for t in played.turns
            ],
            cases=stints,
            closed_outcome=contact.close,
            closed_at=contact.ended,
            topic=contact.topic.key,
            customer_key=customer_key_of(
                account_id=bound,
                email="" if customer.known_as == "ext" else email,
                integration_id=self.integration.pk,
                external_id=""
                if customer.known_as == "email"
                else f"cus-{self.tag}-{customer.index}",
                store_customer_id=store_id,
            ),
            account_id=store_id,
            tier=customer.tier if store_id else "",
        )
        return conversation_id, history
