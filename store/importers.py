"""Load a store from files: tau-bench retail's users.json, products.json and orders.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from store.models import (
    Customer,
    Fulfillment,
    Order,
    OrderItem,
    Payment,
    PaymentMethod,
    Product,
    Variant,
)


@dataclass(frozen=True)
class ImportCounts:
    customers: int
    payment_methods: int
    products: int
    variants: int
    orders: int


def _money(value: object) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@transaction.atomic
def store_import_tau_retail(*, directory: Path) -> ImportCounts:
    """Upsert the files' customers, products and orders, keeping every id as it is.

    Re-running replaces what an earlier import wrote for the same ids.
    """
    users = json.loads((directory / "users.json").read_text())
    products = json.loads((directory / "products.json").read_text())
    orders = json.loads((directory / "orders.json").read_text())

    product_rows = [Product(product_id=p["product_id"], name=p["name"]) for p in products.values()]
    Product.objects.bulk_create(
        product_rows, update_conflicts=True, unique_fields=["product_id"], update_fields=["name"]
    )
    product_pk = dict(Product.objects.values_list("product_id", "pk"))
    variant_rows = [
        Variant(
            item_id=v["item_id"],
            product_id=product_pk[p["product_id"]],
            options=v["options"],
            price=_money(v["price"]),
            available=bool(v["available"]),
        )
        for p in products.values()
        for v in p["variants"].values()
    ]
    Variant.objects.bulk_create(
        variant_rows,
        update_conflicts=True,
        unique_fields=["item_id"],
        update_fields=["product", "options", "price", "available"],
    )

    customer_rows = [
        Customer(
            customer_id=user_id,
            first_name=u["name"]["first_name"],
            last_name=u["name"]["last_name"],
            email=u["email"],
            address=u["address"],
            zip=u["address"].get("zip", ""),
        )
        for user_id, u in users.items()
    ]
    Customer.objects.bulk_create(
        customer_rows,
        update_conflicts=True,
        unique_fields=["customer_id"],
        update_fields=["first_name", "last_name", "email", "address", "zip"],
    )
    customer_pk = dict(
        Customer.objects.filter(customer_id__in=users).values_list("customer_id", "pk")
    )
    method_rows = [
        PaymentMethod(
            method_id=m["id"],
            customer_id=customer_pk[user_id],
            source=m["source"],
            brand=m.get("brand", ""),
            last_four=m.get("last_four", ""),
            balance=_money(m["balance"]) if "balance" in m else None,
        )
        for user_id, u in users.items()
        for m in u["payment_methods"].values()
    ]
    PaymentMethod.objects.bulk_create(
        method_rows,
        update_conflicts=True,
        unique_fields=["method_id"],
        update_fields=["customer", "source", "brand", "last_four", "balance"],
    )

    order_rows = [
        Order(
            order_id=o["order_id"],
            customer_id=customer_pk[o["user_id"]],
            status=o["status"],
            address=o["address"],
            total=sum((_money(i["price"]) for i in o["items"]), Decimal(0)),
        )
        for o in orders.values()
    ]
    Order.objects.bulk_create(
        order_rows,
        update_conflicts=True,
        unique_fields=["order_id"],
        update_fields=["customer", "status", "address", "total"],
    )
    order_pk = dict(Order.objects.filter(order_id__in=orders).values_list("order_id", "pk"))
    for model in (OrderItem, Payment, Fulfillment):
        model.objects.filter(order_id__in=order_pk.values()).delete()
    OrderItem.objects.bulk_create(
        OrderItem(
            order_id=order_pk[o["order_id"]],
            item_id=i["item_id"],
            product_id=i["product_id"],
            name=i["name"],
            options=i["options"],
            price=_money(i["price"]),
        )
        for o in orders.values()
        for i in o["items"]
    )
    Payment.objects.bulk_create(
        Payment(
            order_id=order_pk[o["order_id"]],
            transaction_type=p["transaction_type"],
            amount=_money(p["amount"]),
            payment_method_id=p["payment_method_id"],
        )
        for o in orders.values()
        for p in o["payment_history"]
    )
    Fulfillment.objects.bulk_create(
        Fulfillment(
            order_id=order_pk[o["order_id"]],
            tracking_ids=f["tracking_id"],
            item_ids=f["item_ids"],
        )
        for o in orders.values()
        for f in o["fulfillments"]
    )
    return ImportCounts(
        customers=len(customer_rows),
        payment_methods=len(method_rows),
        products=len(product_rows),
        variants=len(variant_rows),
        orders=len(order_rows),
    )
