from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator, WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import path

from desk.console_socket import SupervisorConsumer
from desk.consumers import (
    ApprovalsConsumer,
    CaseConsumer,
    ControlsConsumer,
    QueueConsumer,
)

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_key(scheme: str, host: str) -> tuple[str, str, int] | None:
    name, port = split_domain_port(host)
    if not name:
        return None
    return scheme, name, int(port) if port else DEFAULT_PORTS.get(scheme, 0)


class SameOriginValidator:
    """Browsers' sockets only from the page's own origin: the Origin header's scheme, host and
    port must be those of the Host the socket was opened on (or one of CSRF_TRUSTED_ORIGINS,
    for a TLS proxy in front). A page on another port of the same host is another origin."""

    def __init__(self, application: Any) -> None:
        self.application = application
        # No Host header (not a browser): the host alone must be allowed, as before.
        self.hosts_only = AllowedHostsOriginValidator(application)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin", b"").decode("latin-1")
        host = headers.get(b"host", b"").decode("latin-1")
        if not host:
            return await self.hosts_only(scope, receive, send)
        if self._allowed(origin=origin, host=host, scheme=scope.get("scheme", "ws")):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)

    def _allowed(self, *, origin: str, host: str, scheme: str) -> bool:
        parts = urlsplit(origin)
        if not parts.scheme or not parts.netloc:
            return False
        if origin.lower() in (o.lower() for o in settings.CSRF_TRUSTED_ORIGINS):
            return True
        page_scheme = "https" if scheme == "wss" else "http"
        own = _origin_key(page_scheme, host.lower())
        return (
            own is not None
            and validate_host(own[1], settings.ALLOWED_HOSTS)
            and _origin_key(parts.scheme.lower(), parts.netloc.lower()) == own
        )


def browser_socket(app: Any) -> Any:
    """Browsers' sockets: session auth, and only from our own origin."""
    return SameOriginValidator(AuthMiddlewareStack(app))


websocket_urlpatterns = [
    path("ws/desk/queue/", browser_socket(QueueConsumer.as_asgi())),
    path("ws/desk/cases/<int:case_id>/", browser_socket(CaseConsumer.as_asgi())),
    path("ws/desk/approvals/", browser_socket(ApprovalsConsumer.as_asgi())),
    path("ws/desk/supervisor/controls/", browser_socket(ControlsConsumer.as_asgi())),
    path("ws/desk/supervisor/", browser_socket(SupervisorConsumer.as_asgi())),
]
