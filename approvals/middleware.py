"""Per-request settings taken from the signed-in person."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from approvals.time_zones import zone_of


class UserTimeZoneMiddleware:
    """Shows every date in the signed-in person's time zone (their profile's), else the company's.

    After ``AuthenticationMiddleware``; one small query per signed-in request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.activate(zoneinfo.ZoneInfo(zone_of(getattr(request, "user", None))))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
