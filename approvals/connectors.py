"""Approvals connectors.

``approvals.check_authority`` is a stub until the org chart and authority limits exist:
it reads per-user limits from the ``BATON_DEMO_AUTHORITY_LIMITS`` setting.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from orchestration.connectors.base import Connector, ConnectorError
from orchestration.connectors.registry import register


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
    """Whether the requester's signature authority covers an amount (demo limits from settings)."""

    name = "approvals.check_authority"
    label = "Check signature authority"
    description = (
        "Answers whether the requester may sign for the amount alone. Demo rule: the limit is "
        "the requester's entry in BATON_DEMO_AUTHORITY_LIMITS, otherwise 0."
    )

    def run(self, config: dict[str, Any], data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Return ``{"covered": bool, "limit": float, "currency": str}`` for the requester."""
        requester = data.get("requester")
        if not isinstance(requester, str) or not requester:
            raise ConnectorError("'requester' must be a username.", retryable=False)
        user_model = get_user_model()
        if not user_model._default_manager.filter(**{user_model.USERNAME_FIELD: requester}).exists():
            raise ConnectorError(f"There is no user {requester!r}.", retryable=False)
        amount = _amount(data.get("amount"), "'amount'")
        currency = data.get("currency")
        if not isinstance(currency, str) or not currency:
            raise ConnectorError("'currency' must be a currency code.", retryable=False)
        limits: dict[str, Any] = getattr(settings, "BATON_DEMO_AUTHORITY_LIMITS", {})
        limit = _amount(limits.get(requester, 0), f"The authority limit of {requester!r}")
        return {
            "covered": amount <= limit,
            # A double, like the amounts expressions compare it with.
            "limit": float(limit),
            "currency": currency,
        }
