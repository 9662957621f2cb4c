from __future__ import annotations

from typing import Any

from django.contrib import admin

from desk.models import (
    AgentProfile,
    AuditEntry,
    AuthorityLimit,
    Customer,
    DraftedAction,
    Macro,
    Order,
    Product,
    Team,
    Variant,
)


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "capacity"]


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


@admin.register(AuthorityLimit)
class AuthorityLimitAdmin(admin.ModelAdmin):
    list_display = ["actor", "max_refund", "max_subscription_age_days", "may_write", "updated_at"]


@admin.register(DraftedAction)
class DraftedActionAdmin(admin.ModelAdmin):
    """Read-only: actions are approved or rejected on the case page, through the policy layer,
    and every step is audited. An edit here would bypass both."""

    list_display = ["tool", "customer_id", "status", "drafted_by", "decided_by", "created_at"]
    list_filter = ["status", "tool"]
    raw_id_fields = ["conversation", "case", "decided_by"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only."""

    list_display = ["at", "kind", "actor", "user", "tool", "decision", "customer_id"]
    list_filter = ["kind", "actor", "tool"]
    search_fields = ["customer_id"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "skills"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ["name", "team"]
