"""HTTP side of the protocol: the ingest fallback and the read API (mounted at /api/v1/)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError
from ninja.security import HttpBearer

from conversations.models import Integration
from conversations.ratelimit import rate_limit_take
from conversations.schemas import ConversationOut, EventsIn, EventsOut
from conversations.selectors import (
    conversation_get_for_integration,
    conversation_wire,
    integration_for_token,
)
from conversations.services import events_ingest


class RateLimited(Exception):
    """The token's budget for this API is used up (429, with Retry-After)."""

    def __init__(self, scope: str) -> None:
        super().__init__(
            f"Over the {scope} API's rate limit of {settings.BATON_API_RATE:g} requests/s "
            f"(bursts of {settings.BATON_API_BURST}) for this token; retry after a second."
        )


def api_rate_limit(request: HttpRequest, *, scope: str) -> None:
    """One request from the token's bucket for `scope` ("read", "actions"), like ingest's per
    token budget, or RateLimited."""
    key = f"{scope}:{request.auth.token_hash[:32]}"
    granted = rate_limit_take(
        key=key, want=1, rate=settings.BATON_API_RATE, burst=settings.BATON_API_BURST
    )
    if not granted:
        raise RateLimited(scope)


class IntegrationToken(HttpBearer):
    """`Authorization: Bearer <integration token>`; the integration lands in request.auth."""

    def authenticate(self, request: HttpRequest, token: str) -> Integration | None:
        return integration_for_token(token=token)


router = Router(auth=IntegrationToken(), tags=["protocol"])


@router.post("/events", response=EventsOut, summary="Ingest events (HTTP fallback)")
def post_events(request: HttpRequest, body: EventsIn) -> dict[str, object]:
    """Store a batch of protocol events. One result per event, in order; a bad event gets an
    error result and does not affect the others. Acks are sent only for committed events."""
    if len(body.events) > settings.BATON_INGEST_MAX_BATCH:
        raise HttpError(413, f"A batch holds at most {settings.BATON_INGEST_MAX_BATCH} events.")
    results = events_ingest(integration=request.auth, raw_events=body.events, sizes_checked=False)
    return {"results": results}


@router.get(
    "/conversations/{path:conversation}", response=ConversationOut, summary="Read a conversation"
)
def get_conversation(request: HttpRequest, conversation: str) -> dict[str, object]:
    """The conversation with its events in seq order, each with its protocol fields."""
    api_rate_limit(request, scope="read")
    found = conversation_get_for_integration(integration=request.auth, external_id=conversation)
    if found is None:
        raise HttpError(404, f"No conversation {conversation!r} for this integration.")
    return conversation_wire(conversation=found)
