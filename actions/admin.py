from __future__ import annotations

from typing import Any

from django.contrib import admin

from actions.models import AuditEntry, AuthorityLimit, DraftedAction


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
