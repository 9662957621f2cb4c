from __future__ import annotations

from django.contrib import admin

from desk.models import Macro


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ["name", "team"]
