"""ASGI entry point: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

# The deployed processes run production settings unless told otherwise (make run and
# the tests say local and test).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from conversations.consumers import IngestConsumer  # noqa: E402
from desk.routing import websocket_urlpatterns as desk_websockets  # noqa: E402
from widget.routing import websocket_urlpatterns as widget_websockets  # noqa: E402

websocket_routes = [
    # Server-to-server: authenticated by the bearer token, no browser origin.
    path("ws/ingest/v1/", IngestConsumer.as_asgi()),
    *desk_websockets,
    # The customer's chat widget: a signed conversation token, from our own origin.
    *widget_websockets,
]

application = ProtocolTypeRouter(
    {"http": django_asgi_app, "websocket": URLRouter(websocket_routes)}
)

if settings.BATON_DEMO_STAFF:
    from desk.demo_staff import staff_asgi

    application = staff_asgi(application)
