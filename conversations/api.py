"""HTTP side of the protocol: the ingest fallback and the read API (mounted at /api/v1/)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError
from ninja.security import HttpBearer

from conversations.models import Integration
from conversations.schemas import ConversationOut, EventsIn, EventsOut
from conversations.selectors import (
    conversation_get_for_integration,
    conversation_wire,
    integration_for_token,
)
from conversations.services import events_ingest


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
    found = conversation_get_for_integration(integration=request.auth, external_id=conversation)
    if found is None:
        raise HttpError(404, f"No conversation {conversation!r} for this integration.")
    return conversation_wire(conversation=found)
