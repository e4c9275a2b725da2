"""Exchange rates: a request's amount in the base currency, at the rate in force on the request's date.

Authority limits may be set once, in ``BATON_BASE_CURRENCY``; a request in another
currency is compared with them after conversion here. Rates are
:class:`~approvals.models.ExchangeRate` rows kept by administrators in the admin,
each in force from its date until the currency's next one. The converted amount is
rounded half up to the base currency's minor units, and that rounded amount is the
one compared and shown, so a reason never reads "USD 2,000.00 does not cover USD 2,000.00".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from approvals.models import ExchangeRate, money
from orchestration import money as money_values
from orchestration.templatetags.moments import when

if TYPE_CHECKING:
    import datetime
    from decimal import Decimal

__all__ = ["Conversion", "NoRate", "base_currency", "rate_on", "to_base"]


class NoRate(Exception):
    """No rate converts the currency into the base currency on the date; the message says what to do."""


@dataclass(frozen=True)
class Conversion:
    """An amount converted into the base currency, and the rate that did it."""

    amount: Decimal
    currency: str
    converted: Decimal
    rate: ExchangeRate

    def describe(self) -> str:
        """``USD 2,090.00 at the rate of 1 Nov 2026 (1 EUR = 1.1 USD)``: what the amount counts as, and why."""
        return (
            f"{money(self.converted, self.rate.base)} at the rate of "
            f"{when(self.rate.valid_from)} ({self.rate.describe()})"
        )


def base_currency() -> str:
    """The currency authority limits may be set in for requests in any currency (``BATON_BASE_CURRENCY``)."""
    return str(settings.BATON_BASE_CURRENCY)


def rate_on(currency: str, on_date: datetime.date) -> ExchangeRate | None:
    """The rate of ``currency`` into the base currency in force on ``on_date`` (the latest from before it)."""
    return (
        ExchangeRate.objects.filter(base=base_currency(), currency=currency.upper(), valid_from__lte=on_date)
        .order_by("-valid_from")
        .first()
    )


def to_base(amount: Decimal, currency: str, on_date: datetime.date) -> Conversion:
    """``amount`` in ``currency`` converted into the base currency at the rate in force on ``on_date``.

    Raises :class:`NoRate` with a sentence naming the currency, the date and where
    an administrator adds the rate.
    """
    base = base_currency()
    rate = rate_on(currency, on_date)
    if rate is None:
        raise NoRate(
            f"There is no exchange rate from {currency.upper()} to {base} in force on {when(on_date)}, "
            f"so {money(amount, currency)} cannot be compared with limits in {base}. An administrator can "
            "add one under Approvals → Exchange rates, then retry."
        )
    converted = money_values.quantize(amount * rate.rate, base)
    return Conversion(amount, currency.upper(), converted, rate)
