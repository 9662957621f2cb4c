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


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    """Adding an integration issues its token and shows it once, as create_integration does."""

    list_display = ["name", "token_prefix", "created_at", "revoked_at"]
    readonly_fields = ["token_hash", "token_prefix", "created_at", "revoked_at"]
    actions = ["revoke", "rotate"]

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


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["external_id", "integration", "owner", "status", "updated_at"]
    list_filter = ["owner", "status", "integration"]
    search_fields = ["external_id"]
    list_select_related = ["integration"]
    raw_id_fields = ["customer"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "conversation", "seq", "type", "role", "received_at"]
    list_filter = ["type"]
    search_fields = ["event_id", "conversation__external_id"]
    list_select_related = ["conversation"]
    raw_id_fields = ["conversation"]


@admin.register(CustomerRef)
class CustomerRefAdmin(admin.ModelAdmin):
    list_display = ["external_id", "email", "name", "integration"]
    search_fields = ["external_id", "email", "name"]
