from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.urls import reverse

from conversations.admin import ReadOnlyAdmin
from escalation.models import (
    AgentProfile,
    Case,
    CaseEvent,
    ConversationState,
    HandoffPacket,
    Rule,
    Signal,
    Team,
)
from escalation.rules import RuleError, condition_validate


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    fields = ["at", "kind", "actor", "data"]
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    """Read-only: status, assignee, team, deadlines and weight are live state that routing,
    the sweeper and the queue depend on. People change them on the desk (take, transfer,
    resolve), through the services, which keep the timeline and push the change."""

    list_display = [
        "id",
        "conversation",
        "customer",
        "status",
        "assignee",
        "first_reply_due",
        "priority",
        "team",
        "reason",
        "queued_at",
    ]
    list_filter = ["status", "trigger", "team"]
    list_select_related = ["conversation__customer", "assignee"]
    search_fields = [
        "conversation__external_id",
        "conversation__customer__name",
        "conversation__customer__email",
    ]
    ordering = ["-queued_at", "-id"]
    inlines = [CaseEventInline]

    @admin.display(description="customer", ordering="conversation__customer__name")
    def customer(self, case: Case) -> str:
        customer = case.conversation.customer
        return str(customer) if customer else ""

    @admin.display(description="first reply due", ordering="sla_due_at")
    def first_reply_due(self, case: Case) -> Any:
        return case.sla_due_at

    def get_view_on_site_url(self, obj: Case | None = None) -> str | None:
        return reverse("desk:case", kwargs={"case_id": obj.pk}) if obj else None


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

    # Cases keep the rule that escalated them: switch a rule off ("enabled") instead.
    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(HandoffPacket)
class HandoffPacketAdmin(ReadOnlyAdmin):
    list_display = ["case", "version", "backend", "created_at"]
    list_select_related = ["case"]
    ordering = ["-created_at", "-id"]


@admin.register(Signal)
class SignalAdmin(ReadOnlyAdmin):
    list_display = ["kind", "conversation", "event", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["conversation", "event"]
    search_fields = ["conversation__external_id"]
    ordering = ["-created_at", "-id"]


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


# Recomputed from the analyses on every event: an edit would be silently overwritten.
@admin.register(ConversationState)
class ConversationStateAdmin(ReadOnlyAdmin):
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
    list_select_related = ["conversation"]


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "capacity", "presence"]
    list_select_related = ["user"]
    # Presence is the agent's own choice and the desk socket's heartbeat: set on the desk.
    readonly_fields = ["presence", "last_seen_at"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "skills"]
    prepopulated_fields = {"slug": ["name"]}
