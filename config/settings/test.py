"""The test suite. CI sets DATABASE_URL and REDIS_URL: PostgreSQL and Redis; else embedded."""

from __future__ import annotations

import os

from .base import *  # noqa: F403
from .base import BASE_DIR, CHANNEL_LAYERS, DATABASES, env

SECRET_KEY = "baton-test-only"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
CELERY_TASK_ALWAYS_EAGER = True
# Each test builds its own store: nothing is kept from one to the next.
BATON_METRICS_COMPARISON_CACHE_SECONDS = 0
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The live-server browser tests run the ASGI server in another process, which cannot see
    # an in-memory database.
    # One file per test run (the live server's process inherits the name through the
    # environment), so two runs on one machine do not share a database.
    os.environ.setdefault("BATON_TEST_DB", str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3"))
    DATABASES["default"]["TEST"] = {"NAME": os.environ["BATON_TEST_DB"]}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"handlers": [], "level": env.str("LOG_LEVEL", default="WARNING")},
}
DATABASES["default"]["CONN_MAX_AGE"] = 0

if "CONFIG" in CHANNEL_LAYERS["default"]:
    # Redis outlives test runs: keep each run's groups and queues apart (the live server's
    # process inherits the prefix through the environment).
    os.environ.setdefault("BATON_TEST_CHANNEL_PREFIX", f"baton-test-{os.getpid()}")
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ["BATON_TEST_CHANNEL_PREFIX"]
