"""The documented production settings pass Django's deployment checks; the default stays on http."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.conftest import ROOT

# The README's production section, less the services (the checks do not connect to them).
PRODUCTION = {
    "BATON_HTTPS": "1",
    "BATON_BEHIND_TLS_PROXY": "1",
    "BATON_ALLOWED_HOSTS": "baton.example.com",
}


def _check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # Without the test run's own switches (conftest allows async-unsafe calls, for Playwright).
    ignored = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BATON_") and k not in ignored}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, "BATON_VAR_DIR": str(tmp_path), "BATON_SECRET_KEY": secrets.token_urlsafe(50), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_the_documented_production_settings(tmp_path: Path) -> None:
    result = _check_deploy(tmp_path, **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_what_is_missing_without_https(tmp_path: Path) -> None:
    result = _check_deploy(tmp_path)
    assert result.returncode != 0
    assert "security.W004" in result.stderr  # HSTS
    assert "security.W012" in result.stderr  # session cookie over http


def test_default_settings_keep_plain_http_working() -> None:
    assert not settings.SESSION_COOKIE_SECURE
    assert not settings.SECURE_SSL_REDIRECT
    assert settings.SECURE_PROXY_SSL_HEADER is None
