from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.parser import Parser

from conversations.api import RateLimited
from conversations.api import router as conversations_router
from conversations.schemas import json_loads_strict
from desk.api import router as actions_router
from desk.metrics_api import router as metrics_router


class StrictJSONParser(Parser):
    """Bodies are JSON as the RFC has it: Python's NaN and Infinity extensions are refused,
    as on the ingest socket."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json_loads_strict(request.body)


api = NinjaAPI(
    title="Baton API",
    version="1",
    description=(
        "The handover protocol's HTTP side (docs/protocol.md), and the metrics for "
        "supervisors' personal tokens (docs/api.md)."
    ),
    urls_namespace="api-v1",
    parser=StrictJSONParser(),
)
api.add_router("/", conversations_router)
api.add_router("/", actions_router)
api.add_router("/", metrics_router)


@api.exception_handler(RateLimited)
def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = api.create_response(
        request, {"code": "rate_limited", "detail": str(exc)}, status=429
    )
    response["Retry-After"] = "1"
    return response
