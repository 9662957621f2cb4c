"""The store of record: the account context agents see beside a conversation.

These built-in models stand in for a real commerce backend.
"""

from __future__ import annotations

from django.db import models


class Customer(models.Model):
    customer_id = models.CharField(max_length=64, unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.CharField(max_length=254, db_index=True)
    phone = models.CharField(max_length=50, blank=True)
    address = models.JSONField(default=dict)
    zip = models.CharField(max_length=20, blank=True, db_index=True)
    lifetime_value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["last_name", "first_name", "zip"], name="customer_name_zip_idx")
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Product(models.Model):
    product_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    item_id = models.CharField(max_length=64, unique=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    options = models.JSONField(default=dict)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    available = models.BooleanField(default=True)

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
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["customer", "-created_at"], name="order_customer_idx")]

    def __str__(self) -> str:
        return self.order_id


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.name} ({self.order_id})"
