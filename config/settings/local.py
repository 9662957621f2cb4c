"""A developer's machine: `make run`. Nothing needs to be set."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, env

SECRET_KEY = env.str("SECRET_KEY", default="baton-local-only-not-secret")

# These settings carry a public key and insecure cookies: they serve this machine only. A
# deploy names its own hosts, and local settings refuse to run for them.
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "testserver"}
if not set(ALLOWED_HOSTS) <= LOCAL_HOSTS:
    raise ImproperlyConfigured(
        f"config.settings.local serves only this machine, not {sorted(set(ALLOWED_HOSTS) - LOCAL_HOSTS)}:"
        " set DJANGO_SETTINGS_MODULE=config.settings.production for a deploy."
    )
