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
