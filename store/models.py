"""The store of record: the account context agents see beside a conversation.

A shop's data reaches these tables through the importer (store/importers.py), and every reader
and every action uses them; there is no other store (docs/store.md).
Ids are the store's own (customer ids, `#W…` order ids, product and item ids, payment method
ids), so imported data keeps them.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Customer(models.Model):
    class Tier(models.TextChoices):
        STANDARD = "standard", "Standard"
        SILVER = "silver", "Silver"
        GOLD = "gold", "Gold"

    customer_id = models.CharField(max_length=64, unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.CharField(max_length=254, db_index=True)
    phone = models.CharField(max_length=50, blank=True)
    address = models.JSONField(default=dict)
    zip = models.CharField(max_length=20, blank=True)
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.STANDARD)
    lifetime_value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "desk_customer"
        indexes = [
            models.Index(fields=["last_name", "first_name", "zip"], name="customer_name_zip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class PaymentMethod(models.Model):
    class Source(models.TextChoices):
        CREDIT_CARD = "credit_card", "Credit card"
        PAYPAL = "paypal", "PayPal"
        GIFT_CARD = "gift_card", "Gift card"

    method_id = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payment_methods")
    source = models.CharField(max_length=20, choices=Source.choices)
    brand = models.CharField(max_length=30, blank=True)
    last_four = models.CharField(max_length=4, blank=True)
    balance = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="Gift cards only."
    )

    class Meta:
        db_table = "desk_paymentmethod"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__isnull=True) | models.Q(balance__gte=0),
                name="payment_method_balance_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.method_id

    @property
    def masked(self) -> str:
        if self.source == self.Source.CREDIT_CARD:
            return f"{self.brand or 'card'} •••• {self.last_four}"
        if self.source == self.Source.GIFT_CARD:
            return f"gift card (balance ${self.balance})"
        return "PayPal"


class Product(models.Model):
    product_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        db_table = "desk_product"

    def __str__(self) -> str:
        return self.name



class Variant(models.Model):
    item_id = models.CharField(max_length=64, unique=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    options = models.JSONField(default=dict)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    available = models.BooleanField(default=True)

    class Meta:
        db_table = "desk_variant"

    def __str__(self) -> str:
        return f"{self.product} {self.options}"



class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"
        RETURN_REQUESTED = "return requested", "Return requested"
        EXCHANGE_REQUESTED = "exchange requested", "Exchange requested"
        PENDING_ITEMS_MODIFIED = "pending (items modified)", "Pending (items modified)"

    order_id = models.CharField(max_length=32, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.PENDING)
    address = models.JSONField(default=dict)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # What a return, exchange or cancellation asked for (items, reason, refund method).
    request = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "desk_order"
        indexes = [models.Index(fields=["customer", "-created_at"], name="order_customer_idx")]

    def __str__(self) -> str:
        return self.order_id


class OrderItem(models.Model):
    """One unit of one variant; an order holding two of an item has two rows."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    item_id = models.CharField(max_length=64)
    product_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    options = models.JSONField(default=dict)
    price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        db_table = "desk_orderitem"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.item_id})"


class Fulfillment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fulfillments")
    tracking_ids = models.JSONField(default=list)
    item_ids = models.JSONField(default=list)
    carrier = models.CharField(max_length=50, blank=True)

    class Meta:
        db_table = "desk_fulfillment"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"fulfillment of {len(self.item_ids)} items ({', '.join(self.tracking_ids)})"


class Payment(models.Model):
    """The order's payment history: payments in, refunds out."""

    class Type(models.TextChoices):
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    transaction_type = models.CharField(max_length=10, choices=Type.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    payment_method_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "desk_payment"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="payment_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_type} {self.amount} via {self.payment_method_id}"


class Subscription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"

    subscription_id = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.CharField(max_length=100)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField()
    renews_at = models.DateTimeField(null=True, blank=True)
    # When it was cancelled or refunded: churn is read from it (docs/metrics.md).
    ended_at = models.DateTimeField(null=True, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    payment_method_id = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "desk_subscription"

    def __str__(self) -> str:
        return f"{self.plan} ({self.subscription_id})"



class PriorContact(models.Model):
    class Outcome(models.TextChoices):
        RESOLVED = "resolved", "Resolved"
        FOLLOW_UP = "follow_up", "Follow-up needed"
        ABANDONED = "abandoned", "Abandoned"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    channel = models.CharField(max_length=20, default="chat")
    topic = models.CharField(max_length=100)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    contacted_at = models.DateTimeField()

    class Meta:
        db_table = "desk_priorcontact"
        indexes = [models.Index(fields=["customer", "-contacted_at"], name="contact_customer_idx")]

    def __str__(self) -> str:
        return f"{self.topic} ({self.outcome})"
