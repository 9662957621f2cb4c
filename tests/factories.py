"""factory_boy factories for the record (integrations, conversations, events), the store of
record, drafted actions, cases and the desk's people, plus a small store.

Factories make rows. A test about what a service does calls the service instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from actions.models import Actor, DraftedAction
from actions.services import action_check
from conversations.models import Conversation, CustomerRef, Event, Integration
from conversations.schemas import event_adapter
from conversations.services import token_hash, token_new
from escalation.analysis import SENSITIVE_TOPICS
from escalation.cases.routing import case_schedule, case_weight
from escalation.models import AgentProfile, Case, Team
from store.models import (
    Customer,
    Fulfillment,
    Order,
    OrderItem,
    Payment,
    PaymentMethod,
    PriorContact,
    Product,
    Subscription,
    Variant,
)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    # What greetings and the desk call them: "maya" is Maya.
    first_name = factory.LazyAttribute(lambda o: o.username.capitalize())
    password = factory.django.Password("pw-for-tests")


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class AgentProfileFactory(DjangoModelFactory):
    """A desk user: `AgentProfileFactory(role="supervisor").user`. Offline, as a new profile
    is, unless `online=True`: at the desk with a fresh heartbeat. `teams` takes Teams or
    slugs (a missing team is created)."""

    class Meta:
        model = AgentProfile
        skip_postgeneration_save = True

    class Params:
        online = factory.Trait(
            presence=AgentProfile.Presence.ONLINE,
            last_seen_at=factory.LazyFunction(timezone.now),
        )

    user = factory.SubFactory(UserFactory)
    role = AgentProfile.Role.AGENT
    capacity = 5
    skills = factory.List([])
    presence = AgentProfile.Presence.OFFLINE
    last_seen_at = None

    @factory.post_generation
    def teams(self, create: bool, extracted: list[Team | str] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.teams.add(*(t if isinstance(t, Team) else TeamFactory(slug=t) for t in extracted))


def agent_user(*, role: str = AgentProfile.Role.AGENT, username: str | None = None) -> Any:
    """A user with an agent profile of `role`."""
    user = UserFactory(**({"username": username} if username else {}))
    AgentProfileFactory(user=user, role=role)
    return user


class IntegrationFactory(DjangoModelFactory):
    """An integration as `integration_create` stores one; its token is the `token` param,
    for a test that connects with it."""

    class Meta:
        model = Integration
        django_get_or_create = ("name",)

    class Params:
        token = factory.LazyFunction(token_new)

    name = factory.Sequence(lambda n: f"bot-{n}")
    token_hash = factory.LazyAttribute(lambda o: token_hash(o.token))
    token_prefix = factory.LazyAttribute(lambda o: o.token[:12])


class CustomerRefFactory(DjangoModelFactory):
    class Meta:
        model = CustomerRef

    integration = factory.SubFactory(IntegrationFactory)
    name = factory.Faker("name")


class ConversationFactory(DjangoModelFactory):
    """A conversation of an integration, with the AI unless `owner` says otherwise. A
    `customer_name` gives it a customer of that name."""

    class Meta:
        model = Conversation

    class Params:
        customer_name = ""

    integration = factory.SubFactory(IntegrationFactory)
    external_id = factory.Sequence(lambda n: f"web-{n:04d}")
    customer = factory.Maybe(
        "customer_name",
        yes_declaration=factory.SubFactory(
            CustomerRefFactory,
            integration=factory.SelfAttribute("..integration"),
            name=factory.SelfAttribute("..customer_name"),
        ),
        no_declaration=None,
    )


def _next_seq(conversation: Conversation) -> int:
    if conversation.pk is None:
        return conversation.last_seq + 1
    stored = Conversation.objects.filter(pk=conversation.pk).values_list("last_seq", flat=True)
    return (stored.first() or 0) + 1


def _protocol_payload(o: Any) -> dict[str, Any]:
    # What events_ingest keeps: the validated event with the fields the client sent.
    raw: dict[str, Any] = {
        "type": o.type,
        "id": o.event_id,
        "conversation": o.conversation.external_id,
        "seq": o.seq,
        "at": o.at.isoformat(),
    }
    if o.type == Event.Type.MESSAGE:
        raw.update(role=o.role, text=o.text)
    raw.update(o.fields)
    return event_adapter.validate_python(raw).model_dump(mode="json", exclude_unset=True)


class EventFactory(DjangoModelFactory):
    """A stored protocol event, as events_ingest stores one: the next seq of its conversation
    (whose `last_seq` follows), and `payload` the validated protocol event. A customer message
    by default; `tool_call=True` for an `ok` tool call; `fields` adds protocol fields (a
    handoff's `reason`, a tool call's `result`, ...)."""

    class Meta:
        model = Event
        exclude = ("fields",)

    class Params:
        tool_call = factory.Trait(
            type=Event.Type.TOOL_CALL,
            role="",
            text="",
            fields=factory.Dict(
                {"tool": "get_order_details", "status": "ok", "args": {"order_id": "#W1"}}
            ),
        )

    conversation = factory.SubFactory(ConversationFactory)
    integration = factory.SelfAttribute("conversation.integration")
    fields = factory.Dict({})
    seq = factory.LazyAttribute(lambda o: _next_seq(o.conversation))
    event_id = factory.LazyAttribute(lambda o: f"{o.conversation.external_id}-{o.seq}")
    type = Event.Type.MESSAGE
    role = "customer"
    text = factory.LazyAttribute(lambda o: f"message {o.seq}")
    at = factory.LazyFunction(timezone.now)
    payload = factory.LazyAttribute(_protocol_payload)

    @classmethod
    def _create(cls, model_class: type[Event], *args: Any, **kwargs: Any) -> Event:
        event = super()._create(model_class, *args, **kwargs)
        conversation = event.conversation
        Conversation.objects.filter(pk=conversation.pk, last_seq__lt=event.seq).update(
            last_seq=event.seq
        )
        conversation.last_seq = max(conversation.last_seq, event.seq)
        return event


def _scheduled(o: Any) -> Case:
    case = Case(priority=o.priority)
    case_schedule(case=case, now=o.now)
    return case


class CaseFactory(DjangoModelFactory):
    """A case on the queue as `case_queue` leaves one: its order key and first-reply deadline
    from its priority as of `now`, its weight from risk and topic, a sensitive topic's skill
    required, the note as its queue line. Its conversation is with humans. For a case opened
    and prepared as a handoff opens one, call `case_open`."""

    class Meta:
        model = Case

    class Params:
        now = factory.LazyFunction(timezone.now)

    conversation = factory.SubFactory(ConversationFactory, owner=Conversation.Owner.HUMAN)
    status = Case.Status.QUEUED
    trigger = Case.Trigger.HANDOFF
    reason = "customer_request"
    team = "general"
    priority = 50
    risk = 0.0
    topic = ""
    required_skill = factory.LazyAttribute(lambda o: o.topic if o.topic in SENSITIVE_TOPICS else "")
    weight = factory.LazyAttribute(lambda o: case_weight(risk=o.risk, topic=o.topic))
    note = ""
    summary_line = factory.LazyAttribute(lambda o: o.note[:200])
    due_key = factory.LazyAttribute(lambda o: _scheduled(o).due_key)
    sla_due_at = factory.LazyAttribute(lambda o: _scheduled(o).sla_due_at)


class DraftedActionFactory(DjangoModelFactory):
    """A draft as `action_draft` stores one, its decision what an agent could do, but with no
    audit entry: a row for a test that needs one, not a drafting under test. Of its case's
    conversation and that conversation's account unless told otherwise."""

    class Meta:
        model = DraftedAction

    case = None
    conversation = factory.LazyAttribute(lambda o: o.case.conversation if o.case else None)
    customer_id = factory.LazyAttribute(
        lambda o: o.conversation.account_id if o.conversation else ""
    )
    tool = "refund_payment"
    args = factory.Dict({"order_id": "#W0000001", "amount": "10.00", "reason": "defective"})
    original_args = factory.LazyAttribute(lambda o: dict(o.args))
    drafted_by = Actor.AI
    decision = factory.LazyAttribute(
        lambda o: action_check(
            actor=Actor.AGENT, tool=o.tool, args=o.args, account_id=o.customer_id or None
        ).as_dict()
    )


def _address(n: int) -> dict[str, str]:
    return {
        "address1": f"{100 + n} Main Street",
        "address2": f"Suite {n % 900}",
        "city": "Denver",
        "state": "CO",
        "country": "USA",
        "zip": f"{80000 + n % 1000:05d}",
    }


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    customer_id = factory.Sequence(lambda n: f"customer_{n:05d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.customer_id}@example.com")
    address = factory.Sequence(_address)
    zip = factory.LazyAttribute(lambda o: o.address["zip"])


class PaymentMethodFactory(DjangoModelFactory):
    """A credit card by default; `paypal=True` or `gift_card=True` (with `balance`)."""

    class Meta:
        model = PaymentMethod

    class Params:
        paypal = factory.Trait(source=PaymentMethod.Source.PAYPAL, brand="", last_four="")
        gift_card = factory.Trait(
            source=PaymentMethod.Source.GIFT_CARD,
            brand="",
            last_four="",
            balance=Decimal("100.00"),
        )

    method_id = factory.LazyAttributeSequence(lambda o, n: f"{o.source}_{n:07d}")
    customer = factory.SubFactory(CustomerFactory)
    source = PaymentMethod.Source.CREDIT_CARD
    brand = "visa"
    last_four = factory.Sequence(lambda n: f"{n % 10000:04d}")
    balance = None


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    product_id = factory.Sequence(lambda n: f"{9000000000 + n}")
    name = factory.Sequence(lambda n: f"Product {n}")


class VariantFactory(DjangoModelFactory):
    class Meta:
        model = Variant

    item_id = factory.Sequence(lambda n: f"{1000000000 + n}")
    product = factory.SubFactory(ProductFactory)
    options = factory.Sequence(lambda n: {"color": f"color {n}", "size": "M"})
    price = Decimal("50.00")
    available = True


class OrderFactory(DjangoModelFactory):
    """An order of `items` (variants; one OrderItem per entry, so repeat a variant to hold it
    twice) paid in full by `paid_with` (a new card of the customer's by default; False for none).
    The total is the items' sum."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    order_id = factory.Sequence(lambda n: f"#W{n:07d}")
    customer = factory.SubFactory(CustomerFactory)
    status = Order.Status.PENDING
    address = factory.LazyAttribute(lambda o: dict(o.customer.address))

    @factory.post_generation
    def items(self, create: bool, extracted: list[Variant] | None, **kwargs: Any) -> None:
        variants = extracted if extracted is not None else [VariantFactory()]
        OrderItem.objects.bulk_create(
            OrderItem(
                order=self,
                item_id=v.item_id,
                product_id=v.product.product_id,
                name=v.product.name,
                options=v.options,
                price=v.price,
            )
            for v in variants
        )
        self.total = sum((v.price for v in variants), Decimal(0))
        self.save(update_fields=["total"])

    @factory.post_generation
    def paid_with(
        self, create: bool, extracted: PaymentMethod | bool | None, **kwargs: Any
    ) -> None:
        if extracted is False:
            return
        method = extracted or PaymentMethodFactory(customer=self.customer)
        Payment.objects.create(
            order=self,
            transaction_type=Payment.Type.PAYMENT,
            amount=self.total,
            payment_method_id=method.method_id,
        )


class PaymentFactory(DjangoModelFactory):
    """A row of an order's payment history (a payment unless `transaction_type` says refund)."""

    class Meta:
        model = Payment

    order = factory.SubFactory(OrderFactory)
    transaction_type = Payment.Type.PAYMENT
    amount = Decimal("10.00")
    payment_method_id = factory.LazyAttribute(
        lambda o: PaymentMethodFactory(customer=o.order.customer).method_id
    )


class FulfillmentFactory(DjangoModelFactory):
    """A shipment of the order, with a UPS tracking number."""

    class Meta:
        model = Fulfillment

    order = factory.SubFactory(OrderFactory)
    tracking_ids = factory.LazyAttribute(lambda o: [f"1Z{o.order.pk:08d}"])
    carrier = "UPS"


class PriorContactFactory(DjangoModelFactory):
    class Meta:
        model = PriorContact

    customer = factory.SubFactory(CustomerFactory)
    topic = "shipping"
    outcome = PriorContact.Outcome.RESOLVED
    contacted_at = factory.LazyFunction(timezone.now)


class SubscriptionFactory(DjangoModelFactory):
    class Meta:
        model = Subscription

    subscription_id = factory.Sequence(lambda n: f"sub_{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    plan = "Trail Club monthly"
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=10))
    renews_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(days=30))
    price = Decimal("20.00")
    payment_method_id = ""


@dataclass
class Store:
    """A small store: one customer with a card, PayPal and a $100 gift card; a shirt in three
    options (one unavailable) and a pair of boots in two; a pending and a delivered order of
    the customer's, both paid by card; an active subscription; and another customer with a
    pending order of their own."""

    customer: Customer
    card: PaymentMethod
    paypal: PaymentMethod
    gift_card: PaymentMethod
    shirt_blue: Variant
    shirt_red: Variant
    shirt_green: Variant
    boots_black: Variant
    boots_brown: Variant
    pending: Order
    delivered: Order
    subscription: Subscription
    other_customer: Customer
    other_card: PaymentMethod
    other_order: Order


def store_scenario(*, gift_card_balance: Decimal = Decimal("100.00")) -> Store:
    customer = CustomerFactory()
    card = PaymentMethodFactory(customer=customer)
    paypal = PaymentMethodFactory(customer=customer, paypal=True)
    gift_card = PaymentMethodFactory(customer=customer, gift_card=True, balance=gift_card_balance)
    shirt = ProductFactory(name="T-Shirt")
    shirt_blue = VariantFactory(product=shirt, options={"color": "blue"}, price=Decimal("50.00"))
    shirt_red = VariantFactory(product=shirt, options={"color": "red"}, price=Decimal("60.00"))
    shirt_green = VariantFactory(
        product=shirt, options={"color": "green"}, price=Decimal("45.00"), available=False
    )
    boots = ProductFactory(name="Hiking Boots")
    boots_black = VariantFactory(product=boots, options={"color": "black"}, price=Decimal("120.00"))
    boots_brown = VariantFactory(product=boots, options={"color": "brown"}, price=Decimal("130.00"))
    pending = OrderFactory(
        customer=customer, items=[shirt_blue, shirt_blue, boots_black], paid_with=card
    )
    delivered = OrderFactory(
        customer=customer,
        status=Order.Status.DELIVERED,
        items=[shirt_blue, boots_black],
        paid_with=card,
    )
    subscription = SubscriptionFactory(customer=customer, payment_method_id=card.method_id)
    other_customer = CustomerFactory()
    other_card = PaymentMethodFactory(customer=other_customer)
    other_order = OrderFactory(customer=other_customer, items=[shirt_red], paid_with=other_card)
    return Store(
        customer=customer,
        card=card,
        paypal=paypal,
        gift_card=gift_card,
        shirt_blue=shirt_blue,
        shirt_red=shirt_red,
        shirt_green=shirt_green,
        boots_black=boots_black,
        boots_brown=boots_brown,
        pending=pending,
        delivered=delivered,
        subscription=subscription,
        other_customer=other_customer,
        other_card=other_card,
        other_order=other_order,
    )


def store_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every store row that an action can write, to compare before and after."""
    return {
        "customers": list(
            Customer.objects.order_by("pk").values_list("pk", "address", "zip", "tier")
        ),
        "methods": list(
            PaymentMethod.objects.order_by("pk").values_list(
                "pk", "method_id", "customer_id", "source", "balance"
            )
        ),
        "orders": list(
            Order.objects.order_by("pk").values_list("pk", "status", "address", "total", "request")
        ),
        "items": list(
            OrderItem.objects.order_by("pk").values_list("pk", "order_id", "item_id", "price")
        ),
        "payments": list(
            Payment.objects.order_by("pk").values_list(
                "pk", "order_id", "transaction_type", "amount", "payment_method_id"
            )
        ),
        "subscriptions": list(Subscription.objects.order_by("pk").values_list("pk", "status")),
    }
