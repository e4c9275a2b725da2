"""Approvals connectors: ``approvals.check_authority`` answers from the authority limits in the admin."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.chain import authority_for
from approvals.exchange import NoRate
from orchestration import money, values
from orchestration.connectors.base import Connector, ConnectorError, ConnectorField
from orchestration.connectors.registry import register


@register
class CheckAuthorityConnector(Connector):
    """Whether the requester's signature authority covers an amount, by their authority limits."""

    name = "approvals.check_authority"
    label = "Check signature authority"
    description = (
        "Answers whether the requester may sign for the amount alone: their highest authority "
        "limit (their own or a group's) in the currency, else in the base currency after "
        "conversion at the exchange rate in force on the day the request was made "
        "(today when not known), as the approval chain converts, for the category if given, effective today."
    )
    inputs = (
        ConnectorField("amount", "Amount", "number", required=True, help="The amount to sign for."),
        ConnectorField("currency", "Currency", required=True, help="Three letters, e.g. EUR or USD."),
        ConnectorField(
            "requester",
            "Who signs",
            required=True,
            help="The person whose limit counts.",
            suggested="initiator",
        ),
        ConnectorField("category", "Spend category", help="Limits set for one category count for it."),
    )
    outputs = (
        ConnectorField("covered", "Within their limit", "boolean", help="Yes when they may sign alone."),
        ConnectorField("limit", "Their signing limit", help='The limit with its currency, or "none".'),
    )
    example_output: ClassVar[dict[str, Any]] = {"covered": True, "limit": "USD 500.00", "currency": "USD"}

    def run(self, config: dict[str, Any], data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Return ``{"covered": bool, "limit": "USD 500.00", "currency": str}`` for the requester.

        When the limit is in the base currency and the amount is not, the amount is
        converted at the rate of the request's date (``requested_on``, as the approval chain
        does) and ``exchange_rate`` says how.
        """
        requester = data.get("requester")
        if not isinstance(requester, str) or not requester:
            raise ConnectorError("'requester' must be a username.", retryable=False)
        user_model = get_user_model()
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: requester}).first()
        if user is None:
            raise ConnectorError(f"There is no user {requester!r}.", retryable=False)
        currency = data.get("currency")
        if not money.is_currency(currency):
            raise ConnectorError("'currency' must be a currency code such as USD.", retryable=False)
        try:
            # Expressions hand amounts over as doubles; back to the currency's minor units.
            amount = money.parse_amount(data.get("amount"), currency, computed=True)
        except money.MoneyError as exc:
            raise ConnectorError(f"'amount': {exc}", retryable=False) from None
        category = data.get("category") or ""
        if not isinstance(category, str):
            raise ConnectorError("'category' must be text.", retryable=False)
        requested_on = _requested_on(data.get("requested_on"))
        try:
            # The same answer the admin's "who can approve?" gives (approvals.chain.route), on the
            # request's date: a retry days later still uses the rate the approval chain uses.
            authority = authority_for(
                user, amount, currency, category, timezone.localdate(), rate_date=requested_on
            )
        except NoRate as exc:
            raise ConnectorError(str(exc), retryable=False) from None
        result = {
            "covered": authority is not None and authority.covers,
            # What people read on the request: the limit with its currency, or "none".
            "limit": authority.limit.describe() if authority else "none",
            "currency": currency.upper(),
        }
        if authority is not None and authority.conversion is not None:
            result["exchange_rate"] = (
                f"{money.format_money(amount, currency)} is {authority.conversion.describe()}"
            )
        return result


def _requested_on(value: Any) -> datetime.date:
    """The request's date from ``requested_on`` (YYYY-MM-DD), or today when the workflow does not pass it."""
    if value in (None, ""):
        return timezone.localdate()
    text = values.parse_date(value) if isinstance(value, str) else None
    if text is None:
        raise ConnectorError("'requested_on' must be a date (YYYY-MM-DD).", retryable=False)
    return datetime.date.fromisoformat(text)
