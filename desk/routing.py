from __future__ import annotations

from django.urls import path

from desk.consumers import QueueConsumer

websocket_urlpatterns = [
    path("queue/", QueueConsumer.as_asgi()),
]
