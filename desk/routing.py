from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from desk.consumers import CaseConsumer, QueueConsumer


def browser_socket(app: Any) -> Any:
    """Browsers' sockets: session auth, and only from our own hosts."""
    return AllowedHostsOriginValidator(AuthMiddlewareStack(app))


websocket_urlpatterns = [
    path("ws/desk/queue/", browser_socket(QueueConsumer.as_asgi())),
    path("ws/desk/cases/<int:case_id>/", browser_socket(CaseConsumer.as_asgi())),
]
