"""The widget's two signed tokens (docs/widget.md).

The conversation token is Baton's: it names one widget conversation, and the socket serves
that conversation and no other. The customer token is the shop's: an HMAC over who the
customer is, made with BATON_WIDGET_SHOP_SECRET by the shop's server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing

# One salt per purpose: a token made for anything else never opens a conversation.
CONVERSATION_SALT = "baton.widget.conversation"
CUSTOMER_FIELDS = ("external_id", "email", "name")


@dataclass(frozen=True)
class WidgetSession:
    """What a conversation token says: the conversation, and who the shop said the customer is."""

    conversation: str
    customer: dict[str, str] = field(default_factory=dict)


def conversation_token_new(*, customer: dict[str, str] | None = None) -> tuple[str, WidgetSession]:
    session = WidgetSession(conversation=f"w-{uuid.uuid4().hex}", customer=customer or {})
    return conversation_token(session=session), session


def conversation_token(*, session: WidgetSession) -> str:
    payload: dict[str, Any] = {"c": session.conversation}
    if session.customer:
        payload["u"] = session.customer
    return signing.dumps(payload, salt=CONVERSATION_SALT, compress=True)


def conversation_token_read(token: object) -> WidgetSession | None:
    """The session a token names, or None for a token that is forged, of another purpose,
    or older than BATON_WIDGET_TOKEN_MAX_AGE."""
    if not isinstance(token, str) or not 0 < len(token) <= 2048:
        return None
    try:
        payload = signing.loads(
            token, salt=CONVERSATION_SALT, max_age=settings.BATON_WIDGET_TOKEN_MAX_AGE
        )
    except signing.BadSignature:
        return None
    conversation = payload.get("c") if isinstance(payload, dict) else None
    if not isinstance(conversation, str) or not conversation.startswith("w-"):
        return None
    customer = payload.get("u") or {}
    return WidgetSession(conversation=conversation, customer=dict(customer))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def customer_token_sign(*, customer: dict[str, Any], secret: str, ttl: int = 3600) -> str:
    """What the shop's server does (shown in docs/widget.md; the tests use it as the shop)."""
    body = {k: str(v) for k, v in customer.items() if k in CUSTOMER_FIELDS and v}
    body["exp"] = int(time.time()) + ttl
    encoded = _b64(json.dumps(body, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).hexdigest()
    return f"{encoded}.{mac}"


def customer_token_read(token: str) -> dict[str, str] | None:
    """The customer a shop's token vouches for, or None: no shop secret set, a bad MAC, an
    expired or malformed token."""
    secret = settings.BATON_WIDGET_SHOP_SECRET
    if not secret or not token or len(token) > 2048 or "." not in token:
        return None
    if not token.isascii():
        return None
    encoded, _, mac = token.rpartition(".")
    expected = hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("exp"), int):
        return None
    if body["exp"] < time.time():
        return None
    customer = {
        name: body[name][:200]
        for name in CUSTOMER_FIELDS
        if isinstance(body.get(name), str) and body[name]
    }
    return customer or None
