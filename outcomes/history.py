"""One conversation as classify() reads it: its turns, its cases and who the customer is.

A ContactHistory holds plain values only, so the history generator can build one in memory and
classify it without reading the database back; `history_load` builds one from the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conversations.models import Conversation, Event
from escalation.models import Case, CaseEvent, HandoffPacket
from store.models import Customer, Order, Subscription


@dataclass(frozen=True)
class Turn:
    """One stored event. `role` is the speaker: 'customer' for customer messages and feedback,
    'ai' for the AI's messages, tool calls, signals and handoffs, 'agent' for a person at the
    desk, '' for a close. `payload` is the event as stored; a greeting Baton sent for a person
    carries `"greeting": True`."""

    seq: int
    type: str
    role: str
    text: str
    at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseStint:
    """One case of the conversation: a stretch where humans owned it.

    `opened_seq` is the conversation's last seq when the case opened (what the AI and the
    customer had said by then); `after_seq` the case's own reading start (the last case's
    resolve). `holders` are the distinct people who held it, in order; `transfers` counts
    transfers and requeues. `resolved_seq` is the conversation's last seq when it was
    resolved, `outcome` the case's outcome ('' while open).
    """

    case_id: int
    trigger: str
    opened_at: datetime
    opened_seq: int
    after_seq: int = 0
    assigned_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_seq: int | None = None
    outcome: str = ""
    team: str = ""
    topic: str = ""
    holders: tuple[int, ...] = ()
    transfers: int = 0
    greeted: bool = False
    packet: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LaterContact:
    """Another conversation of the same customer, for recurrence."""

    started_at: datetime
    topic: str = ""


@dataclass(frozen=True)
class StoreActivity:
    """The customer's store behaviour, for the 60-day churn flags: when their orders were
    placed and when their subscriptions ended (refunded or cancelled)."""

    orders_at: tuple[datetime, ...] = ()
    subscriptions_ended_at: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class ContactHistory:
    """`closed_outcome` is the close event's outcome ('resolved' or 'abandoned', '' with no
    close) and `closed_at` that event's time. `topic` is the conversation's topic (its last
    case's, else the engine's, else the AI's last signalled one)."""

    conversation_id: int
    started_at: datetime
    turns: list[Turn] = field(default_factory=list)
    cases: list[CaseStint] = field(default_factory=list)
    closed_outcome: str = ""
    closed_at: datetime | None = None
    topic: str = ""
    customer_key: str = ""
    account_id: str = ""
    tier: str = ""


def customer_key(
    *,
    account_id: str = "",
    email: str = "",
    integration_id: int | None = None,
    external_id: str = "",
    store_customer_id: str = "",
) -> str:
    """Who the customer is across conversations: their store account (bound, or the store
    customer `store_customer_id` whose email they gave), else their email, else the platform's
    id for them; '' when nothing identifies them."""
    if account_id or store_customer_id:
        return f"acct:{account_id or store_customer_id}"
    if email:
        return f"email:{email.strip().lower()}"
    if external_id and integration_id is not None:
        return f"ext:{integration_id}:{external_id}"
    return ""


def _turn(event: Event, greetings: set[int]) -> Turn:
    if event.type == Event.Type.MESSAGE:
        role = event.role
    elif event.type == Event.Type.FEEDBACK:
        role = "customer"
    elif event.type == Event.Type.CLOSE:
        role = ""
    else:
        role = "ai"
    payload = dict(event.payload)
    if event.pk in greetings:
        payload["greeting"] = True
    return Turn(
        seq=event.seq, type=event.type, role=role, text=event.text, at=event.at, payload=payload
    )


def _stint(
    case: Case, timeline: list[CaseEvent], packet: dict[str, Any], events: list[Event]
) -> CaseStint:
    holders: list[int] = []
    for entry in timeline:
        user = entry.data.get("to") if entry.kind == CaseEvent.Kind.ASSIGNED else None
        if user is not None and user not in holders:
            holders.append(user)
    if case.assignee_id is not None and case.assignee_id not in holders:
        holders.append(case.assignee_id)
    opened_seq = max((e.seq for e in events if e.received_at <= case.queued_at), default=0)
    return CaseStint(
        case_id=case.pk,
        trigger=case.trigger,
        opened_at=case.queued_at,
        opened_seq=max(opened_seq, case.after_seq),
        after_seq=case.after_seq,
        assigned_at=case.assigned_at,
        first_response_at=case.first_response_at,
        resolved_at=case.resolved_at,
        resolved_seq=case.resolved_seq,
        outcome=case.outcome,
        team=case.team,
        topic=case.topic,
        holders=tuple(holders),
        transfers=sum(
            1 for t in timeline if t.kind in (CaseEvent.Kind.TRANSFER, CaseEvent.Kind.REQUEUED)
        ),
        greeted=any(t.kind == CaseEvent.Kind.GREETED for t in timeline),
        packet=packet,
    )


def history_load(*, conversation_id: int) -> ContactHistory:
    """The conversation's history from the record (a handful of queries, whatever its size)."""
    conversation = (
        Conversation.objects.select_related("customer", "state").filter(pk=conversation_id).get()
    )
    events = list(Event.objects.filter(conversation_id=conversation_id).order_by("seq", "id"))
    cases = list(Case.objects.filter(conversation_id=conversation_id).order_by("queued_at", "id"))
    timelines: dict[int, list[CaseEvent]] = {case.pk: [] for case in cases}
    for entry in CaseEvent.objects.filter(case__in=cases).order_by("at", "id"):
        timelines[entry.case_id].append(entry)
    packets: dict[int, dict[str, Any]] = {}
    # Newest version first: the first seen per case is its latest packet.
    for packet in HandoffPacket.objects.filter(case__in=cases).order_by("case", "-version"):
        packets.setdefault(packet.case_id, packet.data)
    greetings = {
        entry.data.get("event")
        for entries in timelines.values()
        for entry in entries
        if entry.kind == CaseEvent.Kind.GREETED
    }
    turns = [_turn(event, greetings) for event in events]
    close = next((e for e in events if e.type == Event.Type.CLOSE), None)
    stints = [_stint(case, timelines[case.pk], packets.get(case.pk, {}), events) for case in cases]
    ref = conversation.customer
    email = ref.email if ref else ""
    account_id = conversation.account_id
    store_customer: Customer | None = None
    if account_id:
        store_customer = Customer.objects.filter(customer_id=account_id).first()
    elif email:
        store_customer = Customer.objects.filter(email__iexact=email.strip()).first()
    topic = next((s.topic for s in reversed(stints) if s.topic), "")
    state = getattr(conversation, "state", None)
    topic = topic or (state.topic if state is not None else "")
    if not topic:
        signalled = [
            t.payload.get("topic")
            for t in turns
            if t.type == "ai_signal" and t.payload.get("topic")
        ]
        topic = str(signalled[-1])[:40] if signalled else ""
    return ContactHistory(
        conversation_id=conversation.pk,
        started_at=events[0].at if events else conversation.created_at,
        turns=turns,
        cases=stints,
        closed_outcome=close.payload.get("outcome", "") if close else "",
        closed_at=close.at if close else None,
        topic=topic,
        customer_key=customer_key(
            account_id=account_id,
            email=email,
            integration_id=conversation.integration_id,
            external_id=ref.external_id if ref else "",
            store_customer_id=store_customer.customer_id if store_customer else "",
        ),
        account_id=account_id or (store_customer.customer_id if store_customer else ""),
        tier=store_customer.tier if store_customer else "",
    )


def store_activity_load(*, account_ids: list[str]) -> dict[str, StoreActivity]:
    """The store behaviour of these accounts, in two queries."""
    orders: dict[str, list[datetime]] = {a: [] for a in account_ids}
    ended: dict[str, list[datetime]] = {a: [] for a in account_ids}
    for account, at in Order.objects.filter(customer__customer_id__in=account_ids).values_list(
        "customer__customer_id", "created_at"
    ):
        orders[account].append(at)
    for account, at in Subscription.objects.filter(
        customer__customer_id__in=account_ids, ended_at__isnull=False
    ).values_list("customer__customer_id", "ended_at"):
        ended[account].append(at)
    return {
        a: StoreActivity(orders_at=tuple(orders[a]), subscriptions_ended_at=tuple(ended[a]))
        for a in account_ids
    }
