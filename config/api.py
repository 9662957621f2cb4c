from __future__ import annotations

from ninja import NinjaAPI

from conversations.api import router as conversations_router
from desk.api import router as actions_router

api = NinjaAPI(
    title="Baton API",
    version="1",
    description="The handover protocol's HTTP side. See docs/protocol.md.",
    urls_namespace="api-v1",
)
api.add_router("/", conversations_router)
api.add_router("/", actions_router)
