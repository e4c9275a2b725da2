"""History of people: every change to a manager, delegate or limit kept and listed on the person's page."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.changes import person_changes
from approvals.delegation import Absence, set_out_of_office
from approvals.models import AuthorityLimit, Profile
from orchestration.connections import store_headers
from orchestration.models import Connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def max_manager():
    users = get_user_model().objects
    dana = users.create_user("dana", first_name="Dana", last_name="Director")
    users.create_user("carl", first_name="Carl", last_name="CFO")
    users.create_user("ivan", first_name="Ivan", last_name="Buyer")
    max_ = users.create_user("max", first_name="Max", last_name="Manager")
    Profile.objects.create(user=max_, manager=dana, department="Sales")
    AuthorityLimit.objects.create(user=max_, amount=Decimal("2000.00"), currency="USD")
    return max_


def _change_page(admin_client, user) -> str:
    page = admin_client.get(f"/admin/auth/user/{user.pk}/change/")
    assert page.status_code == 200
    return page.content.decode()


def test_manager_and_limit_changes_made_in_the_admin_are_listed_with_who_and_when(admin_client, max_manager):
    profile = Profile.objects.get(user=max_manager)
    limit = AuthorityLimit.objects.get(user=max_manager)
    carl = get_user_model().objects.get(username="carl")
    prefix = "profile-0"
    form = {
        "username": "max",
        "first_name": "Max",
        "last_name": "Manager",
        "email": "",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
        "profile-TOTAL_FORMS": "1",
        "profile-INITIAL_FORMS": "1",
        "profile-MIN_NUM_FORMS": "0",
        "profile-MAX_NUM_FORMS": "1",
        f"{prefix}-id": profile.pk,
        f"{prefix}-user": max_manager.pk,
        f"{prefix}-title": "",
        f"{prefix}-department": "Sales",
        f"{prefix}-cost_centre": "",
        f"{prefix}-manager": carl.pk,
        f"{prefix}-out_of_office_from": "",
        f"{prefix}-out_of_office_to": "",
        f"{prefix}-delegate": "",
        "authority_limits-TOTAL_FORMS": "1",
        "authority_limits-INITIAL_FORMS": "1",
        "authority_limits-MIN_NUM_FORMS": "0",
        "authority_limits-MAX_NUM_FORMS": "1000",
        "authority_limits-0-id": limit.pk,
        "authority_limits-0-user": max_manager.pk,
        "authority_limits-0-amount": "5000.00",
        "authority_limits-0-currency": "USD",
        "authority_limits-0-category": "",
        "authority_limits-0-valid_from": "",
        "authority_limits-0-valid_to": "",
    }
    saved = admin_client.post(f"/admin/auth/user/{max_manager.pk}/change/", form)
    assert saved.status_code == 302, saved.context["errors"] if saved.context else saved

    assert Profile.history.filter(user=max_manager).count() == 2
    assert AuthorityLimit.history.filter(user=max_manager).count() == 2
    html = _change_page(admin_client, max_manager)
    assert "Changes" in html
    assert "manager Dana Director → Carl CFO" in html
    assert "limit USD 2,000.00 → USD 5,000.00" in html
    assert "added to the org chart: manager Dana Director, department Sales" in html
    row = next(c for c in person_changes(max_manager) if c.what.startswith("manager"))
    assert row.who == "admin" and timezone.now() - row.at < datetime.timedelta(minutes=1)


def test_out_of_office_events_still_show_and_are_not_repeated_as_field_changes(admin_client, max_manager):
    ivan = get_user_model().objects.get(username="ivan")
    today = timezone.localdate()
    set_out_of_office(max_manager, Absence(today, today + datetime.timedelta(days=3), ivan))

    whats = [c.what for c in person_changes(max_manager)]

    assert any("is out of office" in w and "delegate Ivan Buyer" in w for w in whats)
    assert not any(w.startswith("delegate ") for w in whats)
    assert "delegate Ivan Buyer" in _change_page(admin_client, max_manager)


def test_a_delegate_changed_without_an_absence_event_is_listed_as_a_field_change(max_manager):
    profile = Profile.objects.get(user=max_manager)
    profile.delegate = get_user_model().objects.get(username="ivan")
    profile.save()

    assert "delegate nobody → Ivan Buyer" in [c.what for c in person_changes(max_manager)]


def test_history_pages_of_profiles_and_limits_open(admin_client, max_manager):
    profile = Profile.objects.get(user=max_manager)
    limit = AuthorityLimit.objects.get(user=max_manager)

    assert admin_client.get(f"/admin/approvals/profile/{profile.pk}/history/").status_code == 200
    assert admin_client.get(f"/admin/approvals/authoritylimit/{limit.pk}/history/").status_code == 200
    assert (
        "Who changed what"
        in admin_client.get(f"/admin/approvals/profile/{profile.pk}/change/").content.decode()
    )


def test_connection_history_never_holds_or_shows_the_secret_headers(admin_client):
    connection = Connection(name="erp-prod", base_url="https://erp.example.com")
    store_headers(connection, {"Authorization": "Bearer SUPERSECRET-123"})
    connection.save()
    connection.label = "ERP"
    store_headers(connection, {"Authorization": "Bearer OTHERSECRET-456"})
    connection.save()

    record = Connection.history.first()
    assert not hasattr(record, "secret_token")
    assert Connection.history.count() == 2
    page = admin_client.get(f"/admin/orchestration/connection/{connection.pk}/history/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "ERP" in html or "erp-prod" in html
    assert "SUPERSECRET" not in html and "OTHERSECRET" not in html
    assert connection.secret_token not in html
    detail = admin_client.get(f"/admin/orchestration/connection/{connection.pk}/history/{record.history_id}/")
    assert detail.status_code == 200
    assert (
        "SUPERSECRET" not in detail.content.decode()
        and connection.secret_token not in detail.content.decode()
    )
