"""A developer's machine: `make run`. Nothing needs to be set."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env.str("SECRET_KEY", default="baton-local-only-not-secret")
