"""System checks that stop a half-configured Baton before it misbehaves."""

from __future__ import annotations

from orchestration.checks import check_front_end_packages, check_production_secrets


def test_production_with_the_public_development_key_is_an_error(settings) -> None:
    settings.DEBUG = False
    settings.SECRET_KEY = "baton-insecure-development-key-set-BATON_SECRET_KEY-in-production"

    [error] = check_production_secrets(None)

    assert error.id == "baton.E003" and "BATON_SECRET_KEY" in error.msg


def test_a_real_key_or_development_mode_passes(settings) -> None:
    settings.DEBUG = False
    settings.SECRET_KEY = "a-long-random-production-key"
    assert check_production_secrets(None) == []
    settings.DEBUG = True
    settings.SECRET_KEY = "baton-insecure-development-key-set-BATON_SECRET_KEY-in-production"
    assert check_production_secrets(None) == []


def test_missing_front_end_packages_say_to_run_npm_ci(settings, tmp_path) -> None:
    settings.VENDOR_STATIC = {"vendor/bootstrap": tmp_path / "missing"}

    [error] = check_front_end_packages(None)

    assert error.id == "baton.E002" and "npm ci" in error.hint


def test_debug_is_off_unless_asked(tmp_path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "BATON_DEBUG"}
    env.update(BATON_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="orchestration.settings")
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"

    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    asked = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "BATON_DEBUG": "1"},
        capture_output=True,
        text=True,
        check=True,
    )

    assert shown.stdout.strip() == "False" and asked.stdout.strip() == "True"


def test_the_local_secret_key_is_made_once_and_kept(tmp_path) -> None:
    from orchestration.settings import _local_secret_key

    first = _local_secret_key(tmp_path / "secret_key")

    assert len(first) >= 50 and _local_secret_key(tmp_path / "secret_key") == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by its owner only
