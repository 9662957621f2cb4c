from __future__ import annotations

from django.contrib import admin

from store.models import Customer, Order, Product, Variant


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["customer_id", "first_name", "last_name", "email", "zip"]
    search_fields = ["customer_id", "email", "last_name"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["order_id", "customer", "status", "total", "created_at"]
    list_filter = ["status"]
    search_fields = ["order_id"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["product_id", "name"]


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["item_id", "product", "price", "available"]
    list_select_related = ["product"]
