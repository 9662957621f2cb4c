from __future__ import annotations

from django.contrib import admin

from conversations.admin import ReadOnlyAdmin
from store.models import Customer, Order, Product, Variant

# The store of record is looked at here, not edited: orders and their payments are what refund
# limits count, and actions change them through the policy layer and its audit. The shop's data
# comes in through seed_demo, import_store or a store adapter.


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["customer_id", "first_name", "last_name", "email", "zip"]
    search_fields = ["customer_id", "email", "last_name"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["order_id", "customer", "status", "total", "created_at"]
    list_filter = ["status"]
    search_fields = ["order_id"]
    list_select_related = ["customer"]
    ordering = ["-created_at", "-id"]


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ["product_id", "name"]


@admin.register(Variant)
class VariantAdmin(ReadOnlyAdmin):
    list_display = ["item_id", "product", "price", "available"]
    list_select_related = ["product"]
