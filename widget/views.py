"""The customer's chat page, /chat/: the whole widget, also what the embed snippet's iframe
opens (docs/widget.md)."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.crypto import salted_hmac
from django.utils.csp import CSP
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from widget.tokens import conversation_token_new, customer_token_read


@require_GET
@never_cache
@xframe_options_exempt
def chat_page(request: HttpRequest) -> HttpResponse:
    """A fresh conversation token comes with every page; the page keeps using the one it
    stored, so a reload resumes the conversation it had."""
    customer = customer_token_read(request.GET.get("customer", ""))
    token, _ = conversation_token_new(customer=customer)
    # Who the page is for, without saying who: a conversation the browser kept for someone
    # else (a shared computer, a customer who logged in since) is not resumed for this one.
    who = "anonymous"
    if customer is not None:
        who = salted_hmac(
            "baton.widget.page-customer", json.dumps(customer, sort_keys=True)
        ).hexdigest()[:20]
    response = render(
        request,
        "widget/chat.html",
        {
            "token": token,
            "consent": settings.BATON_WIDGET_CONSENT,
            "embedded": request.GET.get("embed") == "1",
            "verified": customer is not None,
            "who": who,
        },
    )
    # Only the shops that are allowed may frame the chat (the desk's pages: nobody).
    response._csp_config = {  # type: ignore[attr-defined]
        **settings.SECURE_CSP,
        "frame-ancestors": [CSP.SELF, *settings.BATON_WIDGET_ALLOWED_ORIGINS],
    }
    return response
