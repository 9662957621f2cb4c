from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from conversations.models import Conversation, CustomerRef, Event, Integration
from conversations.services import (
    integration_revoke,
    integration_rotate_token,
    token_hash,
    token_new,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For the record and its history, and for live state that only services change: the admin
    shows them, and changes nothing past the services and their audit. With no delete
    permission, "delete selected" is not offered either."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    """Adding an integration issues its token and shows it once, as create_integration does."""

    list_display = ["name", "token_prefix", "created_at", "revoked_at"]
    readonly_fields = ["token_hash", "token_prefix", "created_at", "revoked_at"]
    actions = ["revoke", "rotate"]

    # Conversations keep their integration: revoke the token instead.
    def has_delete_permission(self, request: HttpRequest, obj: Integration | None = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Integration | None = None) -> list[str]:
        if obj is None:
            return ["name"]
        return ["name", *self.readonly_fields]

    def save_model(self, request: HttpRequest, obj: Integration, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token = token_new()
        obj.token_hash, obj.token_prefix = token_hash(token), token[:12]
        super().save_model(request, obj, form, change)
        self.message_user(
            request,
            f"Token for {obj.name} (shown once, copy it now): {token}",
            level=messages.WARNING,
        )

    @admin.action(description="Revoke the token of the selected integrations")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        for integration in queryset:
            integration_revoke(integration=integration)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")

    @admin.action(description="Issue a new token (shown once) for the selected integrations")
    def rotate(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        for integration in queryset:
            token = integration_rotate_token(integration=integration)
            self.message_user(
                request, f"New token for {integration.name}: {token}", level=messages.WARNING
            )


# Who owns a conversation and where its seq stands is the protocol's live state, and its
# events are the record: ingest and the case services change them, never the admin.
@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "integration", "customer", "owner", "status", "updated_at"]
    list_filter = ["owner", "status", "integration"]
    search_fields = ["external_id", "customer__name", "customer__email"]
    list_select_related = ["integration", "customer"]
    ordering = ["-updated_at", "-id"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "conversation", "seq", "type", "role", "received_at"]
    list_filter = ["type"]
    search_fields = ["event_id", "conversation__external_id"]
    list_select_related = ["conversation"]
    ordering = ["-received_at", "-id"]


# What the integration says about the customer: the next event it sends would overwrite an edit.
@admin.register(CustomerRef)
class CustomerRefAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "email", "name", "integration"]
    search_fields = ["external_id", "email", "name"]
    list_select_related = ["integration"]
