from __future__ import annotations

from django.urls import path

from desk import action_views, control_views, guardrails, metrics_views, supervisor, views

app_name = "desk"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("next/", views.next_case, name="next"),
    path("approvals/", action_views.approvals, name="approvals"),
    path("supervisor/rules/", guardrails.rules, name="rules"),
    path("supervisor/rules/<int:rule_id>/", guardrails.rule_detail, name="rule"),
    path(
        "supervisor/rules/<int:rule_id>/preview/",
        guardrails.rule_preview_view,
        name="rule_preview",
    ),
    path("supervisor/rules/<int:rule_id>/save/", guardrails.rule_save, name="rule_save"),
    path(
        "supervisor/rules/<int:rule_id>/rollback/",
        guardrails.rule_rollback_view,
        name="rule_rollback",
    ),
    path("supervisor/limits/", guardrails.limits, name="limits"),
    path("supervisor/limits/<str:actor>/", guardrails.limit_detail, name="limit"),
    path("supervisor/limits/<str:actor>/preview/", guardrails.limit_preview, name="limit_preview"),
    path("supervisor/limits/<str:actor>/save/", guardrails.limit_save, name="limit_save"),
    path(
        "supervisor/limits/<str:actor>/rollback/",
        guardrails.limit_rollback_view,
        name="limit_rollback",
    ),
    path("supervisor/controls/", control_views.controls_page, name="controls"),
    path(
        "supervisor/controls/agents/<int:agent_id>/capacity/",
        control_views.capacity,
        name="control_capacity",
    ),
    path(
        "supervisor/controls/agents/<int:agent_id>/cooldown/",
        control_views.cooldown,
        name="control_cooldown",
    ),
    path(
        "supervisor/controls/agents/<int:agent_id>/cooldown/clear/",
        control_views.cooldown_clear,
        name="control_cooldown_clear",
    ),
    path(
        "supervisor/controls/agents/<int:agent_id>/break/",
        control_views.break_start,
        name="control_break",
    ),
    path(
        "supervisor/controls/agents/<int:agent_id>/break/end/",
        control_views.break_end,
        name="control_break_end",
    ),
    path(
        "supervisor/controls/teams/<slug:team>/auto-assign/",
        control_views.team_auto_assign,
        name="control_team",
    ),
    path("supervisor/controls/reassign/", control_views.reassign, name="control_reassign"),
    path("supervisor/controls/policy/", control_views.policy, name="control_policy"),
    path(
        "supervisor/alerts/<int:alert_id>/acknowledge/",
        control_views.acknowledge,
        name="alert_acknowledge",
    ),
    path("supervisor/", supervisor.supervisor_board, name="supervisor"),
    path("supervisor/agents/<int:user_id>/", supervisor.supervisor_agent, name="supervisor_agent"),
    path("metrics/", metrics_views.metrics_page, name="metrics"),
    path("metrics/contacts/", metrics_views.metrics_contacts, name="metrics_contacts"),
    path("metrics/contacts.csv", metrics_views.metrics_contacts_csv, name="metrics_contacts_csv"),
    path(
        "metrics/conversations/<int:conversation_id>/",
        metrics_views.metrics_conversation,
        name="metrics_conversation",
    ),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("cases/<int:case_id>/take/", views.case_take, name="take"),
    path("cases/<int:case_id>/reply/", views.reply, name="reply"),
    path("cases/<int:case_id>/note/", views.note, name="note"),
    path("cases/<int:case_id>/transfer/", views.transfer, name="transfer"),
    path("cases/<int:case_id>/resolve/", views.resolve, name="resolve"),
    path("cases/<int:case_id>/merge/", views.merge, name="merge"),
    path(
        "cases/<int:case_id>/actions/<int:action_id>/approve/",
        action_views.action_approve,
        name="approve",
    ),
    path(
        "cases/<int:case_id>/actions/<int:action_id>/reject/",
        action_views.action_reject,
        name="reject",
    ),
    path("cases/<int:case_id>/actions/new/", action_views.action_form, name="action_form"),
    path(
        "cases/<int:case_id>/actions/preview/", action_views.action_preview, name="action_preview"
    ),
    path("cases/<int:case_id>/actions/start/", action_views.action_start, name="action_start"),
]
