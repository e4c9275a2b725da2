"""Money is exact: amounts read into a currency's minor units, bounded, and shown with their currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestration import money


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("2000", "USD", "2000.00"),
        ("2000.5", "usd", "2000.50"),
        (2000.0, "USD", "2000.00"),
        (5000, "JPY", "5000"),
        ("1.125", "BHD", "1.125"),
        ("999999999999.99", "USD", "999999999999.99"),
        ("1000000000000", "USD", "1000000000000.00"),
    ],
)
def test_an_amount_is_kept_in_its_currencys_minor_units(value, currency, expected):
    assert str(money.parse_amount(value, currency)) == expected


@pytest.mark.parametrize(
    ("value", "currency", "error"),
    [
        ("2000.004", "USD", "An amount in USD has at most 2 decimals."),
        ("500.001", "USD", "An amount in USD has at most 2 decimals."),
        ("5000.5", "JPY", "An amount in JPY has no decimals."),
        ("1.1255", "BHD", "An amount in BHD has at most 3 decimals."),
        ("12345678901234567890.123", "USD", "Must be at most USD 1,000,000,000,000.00."),
        ("1e20", "USD", "Must be at most USD 1,000,000,000,000.00."),
        (1e20, "USD", "Must be at most USD 1,000,000,000,000.00."),
        ("9" * 5000, "USD", "Must be at most USD 1,000,000,000,000.00."),
        ("0", "USD", "Must be at least USD 0.01."),
        ("-5", "USD", "Must be at least USD 0.01."),
        ("0.5", "JPY", "An amount in JPY has no decimals."),
        ("nan", "USD", "Enter an amount, such as 1250.50."),
        ("Infinity", "USD", "Enter an amount, such as 1250.50."),
        ("1_000", "USD", "Enter an amount, such as 1250.50."),
        ("twelve", "USD", "Enter an amount, such as 1250.50."),
        (True, "USD", "Enter an amount, such as 1250.50."),
        (None, "USD", "Enter an amount, such as 1250.50."),
    ],
)
def test_an_amount_beyond_its_currency_is_refused_in_words(value, currency, error):
    with pytest.raises(money.MoneyError) as caught:
        money.parse_amount(value, currency)
    assert str(caught.value) == error


def test_a_computed_amount_is_rounded_half_up_to_the_minor_unit():
    assert money.parse_amount(1200.0000000000002, "USD", computed=True) == Decimal("1200.00")
    assert money.parse_amount("2000.005", "USD", computed=True) == Decimal("2000.01")


def test_every_accepted_amount_survives_the_double_cel_compares():
    # 15 significant digits: the double an expression sees converts back to the same amount.
    for text, currency in [("999999999999.99", "USD"), ("999999999999.999", "BHD"), ("0.01", "USD")]:
        amount = money.parse_amount(text, currency)
        assert money.parse_amount(float(amount), currency) == amount
    assert money.max_amount("CLF") == Decimal(10) ** 11


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("2000", "USD", "USD 2,000.00"),
        ("5000", "JPY", "JPY 5,000"),
        ("1.125", "BHD", "BHD 1.125"),
        ("2000.0000", "usd", "USD 2,000.00"),
    ],
)
def test_an_amount_is_shown_with_its_currency_and_minor_units(amount, currency, shown):
    assert money.format_money(Decimal(amount), currency) == shown


def test_only_iso_4217_codes_are_currencies():
    assert money.is_currency("usd") and money.is_currency("JPY")
    assert not money.is_currency("ABC") and not money.is_currency("") and not money.is_currency(None)
