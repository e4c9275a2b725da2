"""System checks of the approvals settings."""

from __future__ import annotations

from approvals.checks import check_base_currency


def test_the_default_base_currency_passes() -> None:
    assert check_base_currency(None) == []


def test_a_base_currency_that_is_no_iso_code_is_refused(settings) -> None:
    settings.BATON_BASE_CURRENCY = "DOLLARS"

    errors = check_base_currency(None)

    assert [e.id for e in errors] == ["approvals.E001"]
    assert "'DOLLARS' is not an ISO 4217 currency code" in errors[0].msg
