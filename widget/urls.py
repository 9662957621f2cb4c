from __future__ import annotations

from django.urls import path

from widget import views

app_name = "widget"

urlpatterns = [
    path("", views.chat_page, name="chat"),
]
