"""Production: PostgreSQL, Redis, daphne behind a TLS-terminating proxy."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import MAILERS, SECRET_KEY, env

if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set outside local and test settings.")
if "console" in MAILERS["default"]["BACKEND"] or "locmem" in MAILERS["default"]["BACKEND"]:
    raise ImproperlyConfigured(
        "Set EMAIL_BACKEND (e.g. django.core.mail.backends.smtp.EmailBackend) and EMAIL_HOST: "
        "order confirmations resent from the desk would otherwise go nowhere."
    )

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# One trusted proxy by default: login throttling keys on the address it appended to
# X-Forwarded-For, never on what a client wrote there (daphne --proxy-headers takes the first
# entry, which a client controls). Set BATON_PROXY_COUNT to the number of proxies in front.
BATON_PROXY_COUNT = env.int("BATON_PROXY_COUNT", default=1)
# Plain HTTP is redirected (the proxy's health checks can be exempted by path).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = env.list("SECURE_REDIRECT_EXEMPT", default=[])
# Browsers keep to HTTPS for a year. Subdomains and preload are the operator's decision.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading asks browsers' vendors to hard-code the domain: the operator's decision, so it
# is off and its check silenced until they set it.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Production serves what `collectstatic` gathered, with hashed names.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=False)
