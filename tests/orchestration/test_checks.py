"""System checks on the engine's settings."""

from __future__ import annotations

from django.test import override_settings

from orchestration.checks import check_engine_settings


def test_the_engine_settings_of_the_defaults_pass() -> None:
    with override_settings(BATON_STEP_LEASE_SECONDS=30, BATON_STEP_RENEW_SECONDS=10.0):
        assert check_engine_settings(None) == []


def test_a_lease_renewed_no_sooner_than_it_runs_out_is_refused() -> None:
    with override_settings(BATON_STEP_LEASE_SECONDS=30, BATON_STEP_RENEW_SECONDS=30.0):
        errors = check_engine_settings(None)
    assert [e.msg for e in errors] == [
        "BATON_STEP_RENEW_SECONDS must be positive and shorter than the lease."
    ]
