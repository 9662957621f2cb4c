"""Settings shared by every environment. Everything comes from the environment (django-environ).

With nothing set, Baton runs embedded: SQLite, the in-memory channel layer and Celery tasks run
in-process. `DATABASE_URL` switches to PostgreSQL, `REDIS_URL` to channels-redis and a Redis broker.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "ninja",
    "conversations",
    "store",
    "actions",
    "escalation",
    "outcomes",
    "desk",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "desk.middleware.MethodNotAllowedPage",
    # Last, as django-axes asks: it answers a locked-out login.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'baton.sqlite3'}"),
}
# Consumers close "old" connections around every message; with an age of 0 that would mean a new
# PostgreSQL connection per ingested frame. Health checks drop broken ones instead.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers (the queue page) run while the ingest socket writes; IMMEDIATE makes a
    # writing transaction take the lock up front instead of failing on upgrade under contention.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "conversations.layers.ResilientRedisChannelLayer",
            "CONFIG": {
                # redis-py 8 reads with a default timeout shorter than the layer's 5 s blocking
                # pop: give reads room (django/channels_redis#422).
                # redis-py 8 refuses a command past its pool's 100 connections rather than
                # waiting for one: the desk's sockets join and leave groups concurrently, and
                # a team opening the desk together would have sockets fail. The ceiling stays
                # far below Redis's own (maxclients 10,000).
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 30,
                        "max_connections": env.int("BATON_REDIS_MAX_CONNECTIONS", 4096),
                    }
                ],
                "prefix": env.str("BATON_CHANNEL_PREFIX", "baton"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
# Without a broker the embedded default runs tasks in-process, at the point they are enqueued
# (which services do on commit).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task a killed worker held comes back after the visibility timeout (Redis's default is an
# hour). It must outlast the longest countdown plus the longest run (60 s), or a task would be
# delivered twice; five minutes does. A worker that starts also resumes at once (resume_work).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300}
CELERY_TASK_SOFT_TIME_LIMIT = 30
CELERY_TASK_TIME_LIMIT = 60
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
# Task modules besides each app's tasks.py (which autodiscovery finds).
CELERY_IMPORTS = ["outcomes.rollup_tasks"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
# Login throttling (django-axes): five wrong passwords for one username from one address lock
# that pair out for 15 minutes, in the database every process shares; a right password does
# not get through meanwhile. Keyed on the pair, so nobody can lock a colleague out from
# elsewhere by guessing at their username.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("BATON_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("BATON_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
# The client's address (desk.access.client_ip): REMOTE_ADDR, unless BATON_PROXY_COUNT trusted
# proxies (the TLS proxy) stand in front and append it to X-Forwarded-For. Never the entries a
# client wrote itself: it could send a new address with every guess.
BATON_PROXY_COUNT = env.int("BATON_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "desk.access.client_ip"
LOGIN_REDIRECT_URL = "desk:queue"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# 500 events of up to 64 KiB each fit in one HTTP batch.
DATA_UPLOAD_MAX_MEMORY_SIZE = 33 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        # In-process (eager) tasks would log every run.
        "celery.app.trace": {"level": "WARNING"},
    },
}

# Ingest limits (docs/protocol.md).
BATON_INGEST_MAX_FRAME_BYTES = env.int("BATON_INGEST_MAX_FRAME_BYTES", default=64 * 1024)
# A frame this big is no client's mistake to correct in place: too_large, then close 4009.
# daphne must let such frames through to say so (BATON_WS_MAX_MESSAGE_BYTES, passed to it as
# --websocket-max-message-size); past that it drops the connection itself.
BATON_INGEST_CLOSE_FRAME_BYTES = env.int("BATON_INGEST_CLOSE_FRAME_BYTES", default=1024 * 1024)
BATON_WS_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
BATON_INGEST_MAX_BATCH = env.int("BATON_INGEST_MAX_BATCH", default=500)
BATON_INGEST_RATE = env.float("BATON_INGEST_RATE", default=200.0)
BATON_INGEST_BURST = env.int("BATON_INGEST_BURST", default=2000)
# The read and actions APIs, per token and per API (requests a second, burst).
BATON_API_RATE = env.float("BATON_API_RATE", default=20.0)
BATON_API_BURST = env.int("BATON_API_BURST", default=100)

# The demo's simulated staff work the desk from inside the server (rundemo sets it for daphne;
# desk/demo_staff.py). Never on outside a demo.
BATON_DEMO_STAFF = env.bool("BATON_DEMO_STAFF", default=False)

# Serve static files straight from the apps and static/ unless they were collected (production).
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
# Until `collectstatic` has run (production), there is nothing at STATIC_ROOT to serve.
warnings.filterwarnings("ignore", message="No directory at: .*staticfiles")

# The LLM backend (any OpenAI-compatible endpoint). Without these, the embedded analyzers run.
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
BATON_LLM_MODEL = env.str("BATON_LLM_MODEL", default="gpt-4o-mini")
BATON_LLM_ENABLED = bool(OPENAI_BASE_URL or OPENAI_API_KEY)
BATON_LLM_TIMEOUT = env.float("BATON_LLM_TIMEOUT", default=10.0)
BATON_LLM_MAX_RETRIES = env.int("BATON_LLM_MAX_RETRIES", default=2)
BATON_LLM_MAX_INPUT_CHARS = env.int("BATON_LLM_MAX_INPUT_CHARS", default=24_000)
# How long a handoff may wait for the LLM's packet before it is queued with the embedded one.
BATON_LLM_HANDOFF_BUDGET = env.float("BATON_LLM_HANDOFF_BUDGET", default=3.0)

# Sent on the customer's channel when the agent who holds a case opens or takes it. {customer}
# (first name), {agent} (name), {intro} ("I'm Leo from the support team").
BATON_WARM_GREETING = env.str(
    "BATON_WARM_GREETING",
    default=(
        "Hi {customer}, {intro}. I have the full context of your conversation with our "
        "assistant, so you won't need to repeat anything. I'm looking into it now."
    ),
)
# Sent instead when the case changes hands after a greeting: {previous} is who greeted last.
BATON_HANDOVER_GREETING = env.str(
    "BATON_HANDOVER_GREETING",
    default=(
        "Hi {customer}, {intro}, taking over from {previous}. I have the full context of your "
        "conversation, so you won't need to repeat anything. I'm looking into it now."
    ),
)
# Celery beat evaluates the supervisors' alerts (with a broker). Without one, the supervisors'
# open consoles do, on their heartbeat (escalation/workload/alerts.py: alerts_evaluate_due).
BATON_ALERTS_FROM_BEAT = env.bool("BATON_ALERTS_FROM_BEAT", default=bool(REDIS_URL))
# The churn report's comparison group (store customers with no contact in a past range)
# costs a probe per customer; it is kept this long per range and tier (outcomes/studies.py).
BATON_METRICS_COMPARISON_CACHE_SECONDS = env.int(
    "BATON_METRICS_COMPARISON_CACHE_SECONDS", default=300
)
CELERY_BEAT_SCHEDULE = {
    "sweep-cases": {"task": "escalation.tasks.sweep_cases", "schedule": 30.0},
    # The supervisor console's alerts (escalation/workload/alerts.py).
    "evaluate-alerts": {"task": "escalation.tasks.evaluate_alerts", "schedule": 30.0},
    # The metrics rollups of the days whose contacts changed (outcomes/rollups.py).
    "refresh-rollups": {"task": "outcomes.rollup_tasks.refresh_rollups", "schedule": 60.0},
    # Idempotency-Keys of /actions/execute are kept 24 hours.
    "purge-execution-requests": {
        "task": "escalation.tasks.purge_execution_requests",
        "schedule": 3600.0,
    },
    # Contacts idle 72 h end, and their 60-day churn flags fill in (outcomes/services.py).
    "sweep-contacts": {"task": "outcomes.tasks.sweep_contacts", "schedule": 300.0},
}

# Order confirmations resent from the desk. Locally they are printed; production sets SMTP.
MAILERS = {
    "default": {
        "BACKEND": env.str(
            "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
        ),
        "OPTIONS": {
            k: v
            for k, v in {
                "host": env.str("EMAIL_HOST", default=""),
                "port": env.int("EMAIL_PORT", default=0),
                "username": env.str("EMAIL_HOST_USER", default=""),
                "password": env.str("EMAIL_HOST_PASSWORD", default=""),
                "use_tls": env.bool("EMAIL_USE_TLS", default=False),
            }.items()
            if v
        },
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Baton <support@example.com>")

# Browsers run only Baton's own scripts and styles (no inline code anywhere: htmx's own
# indicator style is off, see _base.html), connect only back to Baton (the desk socket is
# same-origin), and no other site may frame a page. Django's SecurityMiddleware adds
# X-Content-Type-Options: nosniff, Referrer-Policy and Cross-Origin-Opener-Policy from these.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
