"""Supervisors' personal API tokens: issue, revoke, and find whose a bearer token is.

Only a SHA-256 of a token is stored (as for integrations' tokens); the token is shown once."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from conversations.services import token_hash
from desk.models import PersonalToken

# Not an integration's "btn_": a token pasted in the wrong place says what it is.
PERSONAL_PREFIX = "btp_"


@transaction.atomic
def personal_token_create(*, user: Any) -> tuple[PersonalToken, str]:
    """A new token for `user`, returned with the row; the token itself is not stored."""
    token = PERSONAL_PREFIX + secrets.token_urlsafe(32)
    row = PersonalToken.objects.create(user=user, token_hash=token_hash(token), prefix=token[:12])
    return row, token


def personal_tokens_revoke(*, user: Any, prefix: str = "") -> int:
    """Revoke the user's active tokens (those starting with `prefix`, if given): how many."""
    tokens = PersonalToken.objects.filter(user=user, revoked_at__isnull=True)
    if prefix:
        tokens = tokens.filter(prefix__startswith=prefix[:12])
    return tokens.update(revoked_at=timezone.now())


def personal_token_find(*, token: str) -> PersonalToken | None:
    """The active token row for this bearer token, with its user and their profile."""
    if not token:
        return None
    return (
        PersonalToken.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True)
        .select_related("user", "user__agent_profile")
        .first()
    )
