"""Money: exact amounts in a currency's minor units (ISO 4217), read, bounded, stored and shown one way.

How money travels, and why:

- **In Python** an amount is a :class:`~decimal.Decimal` with exactly the currency's minor
  units (``Decimal("2000.00")`` for USD, ``Decimal("5000")`` for JPY, ``Decimal("1.125")``
  for BHD). Comparisons with authority limits are made on these, never on floats.
- **In a process's variables** (JSON) an amount is that Decimal's text, ``"2000.00"``: JSON
  numbers are read back as floats, text keeps the value and its minor units exactly.
- **In CEL** a money variable is declared ``number`` and seen as a double (cel-expr-python
  has no decimal type), so ``amount > 1000.0`` works like any number. Amounts are bounded
  to :data:`SIGNIFICANT_DIGITS` significant digits, which a double holds exactly enough
  that ``Decimal(repr(the double))`` gives the amount back; :func:`parse_amount` does that
  for values an expression computed.
- **On screen** with its currency: ``USD 2,000.00``, ``JPY 5,000`` (:func:`format_money`).

py-moneyed and django-money were considered: py-moneyed's ``Money`` brings Babel for
formatting and no minor-unit rounding or bounds of its own, and django-money's exchange
rates keep only the latest rate of each currency (no effective dates) while its
``MoneyField`` fixes decimal places per column. What Baton needs is this table, a reader
and a formatter, so it keeps its own small module.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeGuard

# ISO 4217 active codes by minor units (the exponent); every other active code has 2.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}
_TWO_DECIMALS = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP
    BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT
    LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO
    NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD
    SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG
    YER ZAR ZMW ZWG""".split()
)
CURRENCIES = frozenset(_TWO_DECIMALS | _EXPONENTS.keys())

# A double keeps 15 significant decimal digits exactly, and so does SQLite's decimal column.
SIGNIFICANT_DIGITS = 15
# The largest amount Baton accepts in any currency (a trillion); fewer for 4-decimal currencies.
MAX_AMOUNT = Decimal(10) ** 12

_CODE = re.compile(r"[A-Za-z]{3}")


class MoneyError(ValueError):
    """An amount or currency that is not acceptable; the message is for the person who typed it."""


def is_currency(code: Any) -> TypeGuard[str]:
    """Whether ``code`` is an active ISO 4217 currency code (any letter case)."""
    return isinstance(code, str) and bool(_CODE.fullmatch(code)) and code.upper() in CURRENCIES


def exponent(currency: str) -> int:
    """The currency's minor units: 2 for USD (cents), 0 for JPY, 3 for BHD."""
    return _EXPONENTS.get(currency.upper(), 2)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount in ``currency``: ``0.01`` for USD, ``1`` for JPY, ``0.001`` for BHD."""
    return Decimal(1).scaleb(-exponent(currency))


def max_amount(currency: str) -> Decimal:
    """The largest amount accepted in ``currency``: 10^12, or less where 15 digits need it."""
    return min(MAX_AMOUNT, Decimal(10) ** (SIGNIFICANT_DIGITS - exponent(currency)))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half up to the currency's minor units (for computed amounts and conversions)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def parse_amount(value: Any, currency: str, *, computed: bool = False) -> Decimal:
    """An exact amount in ``currency`` from text, an int, a Decimal, or a float from an expression.

    The amount must be at least one minor unit and at most :func:`max_amount`. Typed
    amounts (``computed=False``) must fit the currency's minor units exactly:
    ``2000.004`` in USD is refused, not rounded. An amount an expression computed
    (``amount * 1.2``) is rounded half up to them instead. Raises :class:`MoneyError`
    with a sentence for the person who typed it.
    """
    code = currency.upper()
    amount = _decimal(value)
    # Bounds first: quantizing a 30-digit number would overflow Decimal's precision.
    if amount > max_amount(code):
        raise MoneyError(f"Must be at most {format_money(max_amount(code), code)}.")
    if computed:
        amount = quantize(amount, code)
    else:
        check_minor_units(amount, code)
    if amount < minor_unit(code):
        raise MoneyError(f"Must be at least {format_money(minor_unit(code), code)}.")
    return amount.quantize(minor_unit(code))


def check_minor_units(amount: Decimal, currency: str) -> None:
    """Raise :class:`MoneyError` when ``amount`` has more decimals than ``currency`` has minor units."""
    if amount != quantize(amount, currency):
        places = exponent(currency)
        unit = "no decimals" if places == 0 else f"at most {places} decimal{'s' if places > 1 else ''}"
        raise MoneyError(f"An amount in {currency.upper()} has {unit}.")


def _decimal(value: Any) -> Decimal:
    # bool is an int in Python, but true is no amount.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise MoneyError("Enter an amount, such as 1250.50.")
    # A float's repr is the shortest text that reads back as the same double: 2000.0, not 2000.00000000000...
    text = repr(value) if isinstance(value, float) else value
    if isinstance(text, str) and "_" in text:  # Decimal reads "1_000"; people mean something else
        raise MoneyError("Enter an amount, such as 1250.50.")
    try:
        amount = Decimal(text.strip() if isinstance(text, str) else text)
    except InvalidOperation:
        raise MoneyError("Enter an amount, such as 1250.50.") from None
    if not amount.is_finite():
        raise MoneyError("Enter an amount, such as 1250.50.")
    return amount


def stored(amount: Decimal) -> str:
    """How an amount is kept in a process's variables (JSON): its exact text, ``"2000.00"``."""
    return str(amount)


def format_money(amount: Decimal, currency: str) -> str:
    """An amount as people read it, with its currency and minor units: ``USD 2,000.00``, ``JPY 5,000``."""
    code = currency.upper()
    places = exponent(code) if is_currency(code) else 2
    return f"{code} {amount:,.{places}f}"
