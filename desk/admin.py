from __future__ import annotations

from django.contrib import admin

from desk.models import AgentProfile, Macro, Team


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "capacity"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "skills"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ["name", "team"]
