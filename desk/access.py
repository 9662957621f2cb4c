"""Who may use the desk. The one place that answers it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseClientRedirect

from desk.models import AgentProfile


def user_is_agent(user: Any) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or AgentProfile.objects.filter(user_id=user.pk).exists()


def user_is_supervisor(user: Any) -> bool:
    """Supervisors work every team's queue and may act on any open case. Reads the user's
    profile through the relation, so a profile already loaded costs no query."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    try:
        return user.agent_profile.role == AgentProfile.Role.SUPERVISOR
    except AgentProfile.DoesNotExist:
        return False


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
