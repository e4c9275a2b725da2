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
    elif not 0 < settings.BATON_STEP_RENEW_SECONDS < lease:
        errors.append(
            Error("BATON_STEP_RENEW_SECONDS must be positive and shorter than the lease.", id="baton.E001")
        )
    return errors


@register()
def check_front_end_packages(app_configs: Any, **kwargs: Any) -> list[Error]:
    """The pages need the npm packages; say how to get them instead of serving 404s."""
    missing = [prefix for prefix, path in settings.VENDOR_STATIC.items() if not path.is_dir()]
    if not missing:
        return []
    return [
        Error(
            f"Front-end packages are missing ({', '.join(missing)}).",
            hint="Run `./baton setup` in the Baton folder (it runs npm ci and builds the bundles).",
            id="baton.E002",
        )
    ]


@register()
def check_production_secrets(app_configs: Any, **kwargs: Any) -> list[Error]:
    """The built-in secret key signs approval links and derives the key of Connection secrets."""
    if settings.DEBUG or "insecure-development-key" not in settings.SECRET_KEY:
        return []
    return [
        Error(
            "BATON_SECRET_KEY is not set: the development key is public.",
            hint="Set BATON_SECRET_KEY (and BATON_ENCRYPTION_KEY) before running with BATON_DEBUG=0.",
            id="baton.E003",
        )
    ]


@register()
def check_metrics_access(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Every entry of BATON_METRICS_ALLOW must be an address or a network (a typo would lock Prometheus out)."""
    from orchestration.ops.metrics import unreadable_allow_entries

    wrong = unreadable_allow_entries()
    if not wrong:
        return []
    return [
        Error(
            f"BATON_METRICS_ALLOW has entries that are not addresses or networks: {', '.join(wrong)}.",
            hint="Write addresses or networks separated by commas, e.g. 127.0.0.1,10.0.0.0/8,::1.",
            id="baton.E020",
        )
    ]
