"""The desk's pages are for desk agents: the view decorator over escalation.cases.access."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django_htmx.http import HttpResponseClientRedirect

from escalation.cases.access import user_is_agent, user_is_supervisor


def agent_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Desk agents only. Every answer is `no-store` (never_cache): Back fetches the page as
    it is now, never a cached one whose buttons act on a state that has passed."""

    @never_cache
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if getattr(request, "htmx", False):
                # A page whose session ended: the whole page goes to the login, not a
                # login form swapped into the middle of the workspace.
                page = urlsplit(request.htmx.current_url or "").path or request.get_full_path()
                return HttpResponseClientRedirect(redirect_to_login(page).url)
            return redirect_to_login(request.get_full_path())
        if not user_is_agent(request.user):
            raise PermissionDenied("This account is not a desk agent.")
        return view(request, *args, **kwargs)

    return wrapper


def supervisor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Supervisors only: anonymous people go to the login page (as agent_required sends
    them), anyone else signed in is refused (403)."""

    @wraps(view)
    def check(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_is_supervisor(request.user):
            raise PermissionDenied("Only supervisors open the console.")
        return view(request, *args, **kwargs)

    return agent_required(check)


def client_ip(request: HttpRequest) -> str | None:
    """The address of whoever sent the request: the entry the outermost of BATON_PROXY_COUNT
    trusted proxies appended to X-Forwarded-For, or REMOTE_ADDR with none. Entries before it
    are the client's own word (daphne's --proxy-headers puts the first of them in
    REMOTE_ADDR), so they are never used."""
    proxies = settings.BATON_PROXY_COUNT
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def post_only(view: Any) -> Any:
    """A write answers only POSTs. A GET (a bookmarked or reloaded write URL, a link opened
    in a tab) goes back to the case, not to a blank 405."""

    @wraps(view)
    def wrapper(request: HttpRequest, case_id: int, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return redirect("desk:case", case_id=case_id)
        return view(request, case_id, **kwargs)

    return wrapper
