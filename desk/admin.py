from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from desk.models import Macro, PersonalToken


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ["name", "team"]


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by `manage.py create_api_token` (the only time one is shown); the
    admin lists them and revokes them."""

    list_display = ["prefix", "user", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    readonly_fields = ["user", "prefix", "token_hash", "created_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token{'s' if count != 1 else ''}.")
