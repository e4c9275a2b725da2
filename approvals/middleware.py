"""Per-request settings taken from the signed-in person."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from approvals.models import Profile
from approvals.time_zones import zone_name


class UserTimeZoneMiddleware:
    """Shows every date in the signed-in person's time zone (their profile's), else the company's.

    After ``AuthenticationMiddleware``; one small query per signed-in request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        chosen = ""
        if user is not None and user.is_authenticated:
            chosen = Profile.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first() or ""
        if chosen:
            timezone.activate(zoneinfo.ZoneInfo(zone_name(chosen)))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
