"""The desk's pages are for desk agents: the view decorator over escalation.cases.access."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseClientRedirect

from escalation.cases.access import user_is_agent


def agent_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
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
