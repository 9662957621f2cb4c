"""Production cannot start on local defaults, and every page carries the security headers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


# What the test run itself sets (DJANGO_ALLOW_ASYNC_UNSAFE comes with the browser tests), and
# no deploy has.
NOT_A_DEPLOY = {"DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in NOT_A_DEPLOY}


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**_clean_env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _production_env(tmp_path: Path) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x" * 60 + "production-test-key-only",
        "ALLOWED_HOSTS": "desk.example.com",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path}/deploy.sqlite3",
    }


def test_the_deployed_processes_default_to_production_settings() -> None:
    for module in ("config.asgi", "config.celery"):
        # The worker reads its settings when it starts: the same as touching them here.
        done = _run(f"import {module}; from django.conf import settings; settings.DEBUG")
        # Production settings without a SECRET_KEY refuse to start: no silent local key.
        assert done.returncode != 0, module
        assert "SECRET_KEY must be set" in done.stderr, (module, done.stderr[-500:])


def test_local_settings_refuse_to_serve_a_deployed_host() -> None:
    done = _run(
        "import django; django.setup()",
        DJANGO_SETTINGS_MODULE="config.settings.local",
        ALLOWED_HOSTS="desk.example.com",
    )
    assert done.returncode != 0
    assert "config.settings.production" in done.stderr


def test_production_needs_a_real_mail_backend(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    env.pop("EMAIL_BACKEND")
    done = _run("import django; django.setup()", **env)
    assert done.returncode != 0
    assert "EMAIL_BACKEND" in done.stderr


def test_check_deploy_is_clean_on_production_settings(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**_clean_env(), **_production_env(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.django_db
def test_pages_carry_the_content_security_policy_and_security_headers(client: Client) -> None:
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self' 'nonce-" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_thirty_wrong_passwords_then_the_right_one_does_not_log_in(client: Client) -> None:
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="maya", password="right-password-1")
    for _ in range(30):
        client.post("/accounts/login/", {"username": "maya", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "maya", "password": "right-password-1"})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_few_typos_then_the_right_password_logs_in(client: Client) -> None:
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="leo", password="right-password-2")
    for _ in range(3):
        client.post("/accounts/login/", {"username": "leo", "password": "typo"})
    response = client.post("/accounts/login/", {"username": "leo", "password": "right-password-2"})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_behind_the_proxy_throttling_keys_on_the_address_the_proxy_saw(tmp_path: Path) -> None:
    code = (
        "import django; django.setup()\n"
        "from django.test import RequestFactory\n"
        "from axes.helpers import get_client_ip_address\n"
        "request = RequestFactory().post('/accounts/login/', REMOTE_ADDR='10.0.0.5',"
        " HTTP_X_FORWARDED_FOR='6.6.6.6, 203.0.113.9')\n"
        "print(get_client_ip_address(request))\n"
    )
    done = _run(code, **_production_env(tmp_path))
    assert done.returncode == 0, done.stderr[-1000:]
    # 6.6.6.6 is what the client wrote; 203.0.113.9 is what the proxy appended.
    assert done.stdout.strip() == "203.0.113.9"


def test_without_a_proxy_a_forwarded_header_is_ignored() -> None:
    from django.test import RequestFactory, override_settings

    from desk.access import client_ip

    request = RequestFactory().post(
        "/accounts/login/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="6.6.6.6"
    )
    with override_settings(BATON_PROXY_COUNT=0):
        assert client_ip(request) == "198.51.100.7"
    with override_settings(BATON_PROXY_COUNT=1):
        assert client_ip(request) == "6.6.6.6"
