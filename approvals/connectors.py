"""Approvals connectors: ``approvals.check_authority`` answers from the authority limits in the admin."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.chain import authority_of
from orchestration.connectors.base import Connector, ConnectorError
from orchestration.connectors.registry import register

_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


def _amount(value: Any, what: str) -> Decimal:
    # bool is an int in Python, but true is no amount.
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ConnectorError(f"{what} must be a number.", retryable=False)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ConnectorError(f"{what} must be a number.", retryable=False) from None
    if not amount.is_finite():
        raise ConnectorError(f"{what} must be a number.", retryable=False)
    return amount


@register
class CheckAuthorityConnector(Connector):
    """Whether the requester's signature authority covers an amount, by their authority limits."""

    name = "approvals.check_authority"
    label = "Check signature authority"
    description = (
        "Answers whether the requester may sign for the amount alone: their highest authority "
        "limit (their own or a group's) in the currency, for the category if given, effective today."
    )

    def run(self, config: dict[str, Any], data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Return ``{"covered": bool, "limit": float, "currency": str}`` for the requester."""
        requester = data.get("requester")
        if not isinstance(requester, str) or not requester:
            raise ConnectorError("'requester' must be a username.", retryable=False)
        user_model = get_user_model()
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: requester}).first()
        if user is None:
            raise ConnectorError(f"There is no user {requester!r}.", retryable=False)
        amount = _amount(data.get("amount"), "'amount'")
        currency = data.get("currency")
        if not isinstance(currency, str) or not _CURRENCY.match(currency):
            raise ConnectorError("'currency' must be a three-letter currency code.", retryable=False)
        category = data.get("category") or ""
        if not isinstance(category, str):
            raise ConnectorError("'category' must be text.", retryable=False)
        limit = authority_of(user, currency.upper(), category, timezone.localdate())
        return {
            "covered": limit is not None and amount <= limit.amount,
            # A double, like the amounts expressions compare it with.
            "limit": float(limit.amount) if limit else 0.0,
            "currency": currency,
        }
