"""System checks that catch a half-installed Baton before it misbehaves."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_engine_settings(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors = []
    lease = settings.BATON_STEP_LEASE_SECONDS
    if lease <= 0:
        errors.append(Error("BATON_STEP_LEASE_SECONDS must be positive.", id="baton.E001"))
    return errors
