"""factory_boy factories for the store of record and the desk's people, plus a small store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from escalation.models import AgentProfile
from store.models import (
    Customer,
    Order,
    OrderItem,
    Payment,
    PaymentMethod,
    Product,
    Subscription,
    Variant,
)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    password = factory.django.Password("pw-for-tests")


class AgentProfileFactory(DjangoModelFactory):
    """A desk user: `AgentProfileFactory(role="supervisor").user`."""

    class Meta:
        model = AgentProfile

    user = factory.SubFactory(UserFactory)
    role = AgentProfile.Role.AGENT


def agent_user(*, role: str = AgentProfile.Role.AGENT, username: str | None = None) -> Any:
    """A user with an agent profile of `role`."""
    user = UserFactory(**({"username": username} if username else {}))
    AgentProfileFactory(user=user, role=role)
    return user


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
