"""The widget socket's route. The page that opens it is /chat/, on Baton's own origin (the
embed snippet frames that page), so only that origin may open it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import path

from widget.consumers import WidgetConsumer


class OwnOriginValidator:
    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin", b"").decode("latin-1").lower()
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if _allowed(origin=origin, host=host):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


def _allowed(*, origin: str, host: str) -> bool:
    if origin in (o.lower() for o in settings.CSRF_TRUSTED_ORIGINS):
        return True
    parts = urlsplit(origin)
    name, _ = split_domain_port(host)
    return (
        parts.scheme in ("http", "https")
        and bool(name)
        and validate_host(name, settings.ALLOWED_HOSTS)
        and parts.netloc == host
    )


websocket_urlpatterns = [
    path("ws/widget/", OwnOriginValidator(WidgetConsumer.as_asgi())),
]
