from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from escalation.models import (
    AgentProfile,
    Case,
    ConversationState,
    HandoffPacket,
    Rule,
    Signal,
    Team,
)
from escalation.rules import RuleError, condition_validate


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "conversation",
        "status",
        "trigger",
        "reason",
        "priority",
        "team",
        "queued_at",
    ]
    list_filter = ["status", "trigger", "team"]
    list_select_related = ["conversation"]
    raw_id_fields = ["conversation", "assignee", "rule"]


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = [
            "code",
            "name",
            "description",
            "enabled",
            "order",
            "condition",
            "action",
            "priority",
            "team",
            "ai_read_only",
        ]

    def clean_condition(self) -> Any:
        condition = self.cleaned_data["condition"]
        try:
            condition_validate(condition)
        except RuleError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return condition


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = [
        "name",
        "code",
        "enabled",
        "order",
        "action",
        "priority",
        "team",
        "ai_read_only",
    ]
    list_editable = ["enabled", "order", "priority"]
    list_filter = ["enabled", "action", "team"]


@admin.register(HandoffPacket)
class HandoffPacketAdmin(admin.ModelAdmin):
    list_display = ["case", "version", "backend", "created_at"]
    readonly_fields = ["case", "version", "backend", "data", "created_at"]
    list_select_related = ["case"]

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    list_display = ["kind", "conversation", "event", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["conversation", "event"]


class FlaggedFilter(admin.SimpleListFilter):
    title = "rules"
    parameter_name = "flagged"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Some rule holds"), ("no", "No rule holds")]

    def queryset(self, request: Any, queryset: Any) -> Any:
        # The list's first element: a JSON lookup that SQLite and PostgreSQL both answer.
        flagged = {"rules_fired__0__isnull": False}
        if self.value() == "yes":
            return queryset.filter(**flagged)
        if self.value() == "no":
            return queryset.exclude(**flagged)
        return queryset


@admin.register(ConversationState)
class ConversationStateAdmin(admin.ModelAdmin):
    list_display = [
        "conversation",
        "sentiment",
        "trend",
        "risk",
        "topic",
        "rules_fired",
        "updated_at",
    ]
    list_filter = [FlaggedFilter, "topic"]
    raw_id_fields = ["conversation"]


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "capacity"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "skills"]
    prepopulated_fields = {"slug": ["name"]}
