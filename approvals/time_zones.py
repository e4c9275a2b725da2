"""Each person's time zone: every date and time on their pages is shown in it.

A profile's ``time_zone`` names an IANA zone ("Asia/Tokyo"); blank means the company's
(``settings.TIME_ZONE``). :class:`approvals.middleware.UserTimeZoneMiddleware` activates it
for each request, so ``|when`` (the one date format) writes times in the reader's zone.
"""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from django.conf import settings

__all__ = ["zone_choices", "zone_name", "zone_of"]

# IANA's geographic areas; the legacy aliases (US/Eastern, Japan, EST5EDT…) only repeat them.
_AREAS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


@functools.cache
def _known() -> frozenset[str]:
    # available_timezones() walks the zone files on every call: once per process is enough.
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def _zones_by_area() -> list[tuple[str, list[tuple[str, str]]]]:
    names = _known()
    return [
        (
            area,
            [
                (name, name.split("/", 1)[1].replace("_", " "))
                for name in sorted(names)
                if name.split("/")[0] == area
            ],
        )
        for area in _AREAS
    ]


def zone_choices() -> list[tuple[str, object]]:
    """The zones a person may choose, grouped by area, after "the company's" (blank)."""
    extra = [] if settings.TIME_ZONE.split("/")[0] in _AREAS else [(settings.TIME_ZONE, settings.TIME_ZONE)]
    utc = [] if settings.TIME_ZONE == "UTC" else [("UTC", "UTC")]
    return [("", f"Company default ({settings.TIME_ZONE})"), *utc, *extra, *_zones_by_area()]


def zone_name(time_zone: str) -> str:
    """The zone a profile's ``time_zone`` means: itself, or the company's when blank or unknown."""
    if time_zone and time_zone in _known():
        return time_zone
    return str(settings.TIME_ZONE)


def zone_of(user: Any) -> str:
    """The zone ``user`` reads dates in: their profile's, else the company's (one small query)."""
    from approvals.models import Profile  # here: models imports this module for its choices

    if user is None or not getattr(user, "is_authenticated", False):
        return str(settings.TIME_ZONE)
    return zone_name(
        Profile.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first() or ""
    )
