from __future__ import annotations

from django.contrib import admin

from escalation.models import Case


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["id", "conversation", "status", "trigger", "reason", "priority", "queued_at"]
    list_filter = ["status", "trigger", "team"]
    list_select_related = ["conversation"]
    raw_id_fields = ["conversation", "assignee"]
