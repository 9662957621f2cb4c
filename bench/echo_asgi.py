"""Baton's ASGI application plus a raw echo socket at /ws/bench/echo/: the baseline that the
ingest and desk benchmarks measure Baton's sockets against, on the same server and stack.

bench.server serves this instead of config.asgi, so production routing has no echo route.
"""

from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path, re_path

from config.asgi import application as baton_application


class EchoConsumer(AsyncWebsocketConsumer):
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data, bytes_data=bytes_data)


application = ProtocolTypeRouter(
    {
        "http": baton_application,
        "websocket": URLRouter(
            [
                path("ws/bench/echo/", EchoConsumer.as_asgi()),
                # Every other socket is Baton's own routing, unchanged. Routing runs once per
                # connection, so the extra hop costs nothing per frame.
                re_path(r"", baton_application),
            ]
        ),
    }
)
