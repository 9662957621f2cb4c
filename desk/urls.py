from __future__ import annotations

from django.urls import path

from desk import action_views, supervisor, views

app_name = "desk"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("next/", views.next_case, name="next"),
    path("approvals/", action_views.approvals, name="approvals"),
    path("supervisor/", supervisor.supervisor_board, name="supervisor"),
    path("supervisor/agents/<int:user_id>/", supervisor.supervisor_agent, name="supervisor_agent"),
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
