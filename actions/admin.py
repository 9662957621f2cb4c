from __future__ import annotations

from django.contrib import admin

from actions.models import AuditEntry, AuthorityLimit, DraftedAction
from conversations.admin import ReadOnlyAdmin


@admin.register(AuthorityLimit)
class AuthorityLimitAdmin(admin.ModelAdmin):
    list_display = ["actor", "max_refund", "max_subscription_age_days", "may_write", "updated_at"]


@admin.register(DraftedAction)
class DraftedActionAdmin(ReadOnlyAdmin):
    """Read-only: actions are approved or rejected on the case page, through the policy layer,
    and every step is audited. An edit here would bypass both."""

    list_display = ["tool", "customer_id", "status", "drafted_by", "decided_by", "created_at"]
    list_filter = ["status", "tool"]
    search_fields = ["customer_id", "conversation__external_id"]
    list_select_related = ["decided_by"]
    ordering = ["-created_at", "-id"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Read-only: the audit log is append-only. Newest first, as a log is read."""

    list_display = ["at", "kind", "actor", "user", "tool", "decision", "customer_id", "case"]
    list_filter = ["kind", "actor", "tool"]
    search_fields = ["customer_id", "order_id", "conversation__external_id"]
    list_select_related = ["user", "case"]
    ordering = ["-at", "-id"]
