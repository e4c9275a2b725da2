"""Each person's time zone: every date on their pages is shown in it, named."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from approvals.delegation import Absence, absence_history, set_out_of_office
from approvals.models import Profile

pytestmark = pytest.mark.django_db

MOMENT = datetime.datetime(2026, 12, 2, 14, 5, tzinfo=datetime.UTC)
PAGE = "/out-of-office/"


@pytest.fixture
def away(org: dict[str, Any]) -> dict[str, Any]:
    """The manager planned an absence; its history entry is dated MOMENT."""
    today = timezone.localdate()
    set_out_of_office(
        org["manager"],
        Absence(today + datetime.timedelta(days=7), today + datetime.timedelta(days=9), org["cfo"]),
    )
    absence_history(org["manager"]).update(created_at=MOMENT)
    return org


def _page(user: Any) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.content.decode()


def test_a_person_in_tokyo_sees_tokyo_time_named(away):
    Profile.objects.filter(user=away["manager"]).update(time_zone="Asia/Tokyo")

    html = _page(away["manager"])

    assert "2 Dec 2026, 23:05 JST" in html
    assert "14:05 UTC" not in html


def test_without_a_zone_of_their_own_a_person_sees_the_companys(away):
    assert "2 Dec 2026, 14:05 UTC" in _page(away["manager"])


def test_the_zone_lasts_one_request_and_follows_the_profile(away):
    Profile.objects.filter(user=away["manager"]).update(time_zone="Asia/Tokyo")
    assert "23:05 JST" in _page(away["manager"])

    assert timezone.get_current_timezone_name() == "UTC"  # nothing leaks into the next request
    Profile.objects.filter(user=away["manager"]).update(time_zone="")
    assert "14:05 UTC" in _page(away["manager"])


def test_a_zone_no_longer_known_falls_back_to_the_companys(away):
    Profile.objects.filter(user=away["manager"]).update(time_zone="Mars/Olympus_Mons")

    assert "14:05 UTC" in _page(away["manager"])


def test_a_person_sets_their_own_zone_on_their_settings_page(org):
    client = Client()
    client.force_login(org["employee"])

    response = client.post(PAGE, {"action": "time_zone", "time_zone": "America/New_York"}, follow=True)

    assert response.status_code == 200
    assert Profile.objects.get(user=org["employee"]).time_zone == "America/New_York"
    assert "dates and times are shown in America/New_York time" in response.content.decode()


def test_a_person_without_a_profile_gets_one_with_their_zone(org):
    nobody = get_user_model().objects.create_user("newcomer")
    client = Client()
    client.force_login(nobody)

    client.post(PAGE, {"action": "time_zone", "time_zone": "Europe/Paris"})

    assert Profile.objects.get(user=nobody).time_zone == "Europe/Paris"


def test_an_unknown_zone_is_refused_naming_the_field(org):
    client = Client()
    client.force_login(org["employee"])

    response = client.post(PAGE, {"action": "time_zone", "time_zone": "Nowhere/Land"})

    assert response.status_code == 400
    assert 'data-testid="error-time_zone"' in response.content.decode()
    assert Profile.objects.get(user=org["employee"]).time_zone == ""


def test_the_settings_page_offers_the_company_default_and_the_zones(org):
    html = _page(org["employee"])

    assert "Company default (UTC)" in html
    assert '<option value="Asia/Tokyo">Tokyo</option>' in html


def test_an_administrator_sets_someones_zone_in_the_admin(org):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client = Client()
    client.force_login(admin)
    profile = Profile.objects.get(user=org["employee"])

    response = client.post(
        f"/admin/approvals/profile/{profile.pk}/change/",
        {"user": org["employee"].pk, "manager": org["manager"].pk, "time_zone": "Asia/Tokyo"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    profile.refresh_from_db()
    assert profile.time_zone == "Asia/Tokyo"
