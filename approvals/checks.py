"""System checks of the approvals settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from orchestration import money


@register()
def check_base_currency(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Limits and exchange rates are kept against the base currency: it must be a real one."""
    base = settings.BATON_BASE_CURRENCY
    if money.is_currency(base):
        return []
    return [
        Error(
            f"BATON_BASE_CURRENCY {base!r} is not an ISO 4217 currency code.",
            hint="Set it to the currency your authority limits are set in, such as USD or EUR.",
            id="approvals.E001",
        )
    ]
