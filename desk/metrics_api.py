"""GET /api/v1/metrics: the metrics summary for a supervisor's personal token (docs/api.md)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError
from ninja.security import HttpBearer

from conversations.api import api_rate_limit
from desk.tokens import personal_token_find
from escalation.cases.access import user_is_supervisor
from outcomes.reports import Filters, metrics_summary


class SupervisorToken(HttpBearer):
    """`Authorization: Bearer <personal token>`: 401 without an active token, 403 when its
    owner is not (or no longer) a supervisor. The token's row (with its user) lands in
    request.auth."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = personal_token_find(token=token)
        if row is None:
            return None
        if not user_is_supervisor(row.user):
            raise HttpError(403, "Only supervisors' tokens may read the metrics.")
        return row


router = Router(auth=SupervisorToken(), tags=["metrics"])


@router.get("/metrics", response=dict[str, Any], summary="The metrics summary")
def metrics(request: HttpRequest) -> dict[str, Any]:
    """The object `manage.py metrics --json` prints, for the same filters: since (a date, or
    7d/30d/90d), until, topic, team, tier. Rate-limited per token like the read API."""
    api_rate_limit(request, scope="metrics")
    try:
        filters = Filters.from_query(request.GET)
    except ValueError as exc:
        raise HttpError(422, str(exc)) from exc
    return metrics_summary(filters)
