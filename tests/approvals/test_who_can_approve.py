"""The admin's "who can approve X for Z?" check walks the chain like the Approval block does."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from approvals.chain import route
from approvals.models import Profile

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_of(org) -> Client:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client = Client()
    client.force_login(admin)
    return client


def test_route_climbs_until_a_limit_covers_the_amount(org):
    found = route(org["employee"], Decimal("5000"), "USD")

    assert [(s.approver.username, s.level) for s in found.levels] == [("manager", 1), ("director", 2)]
    assert found.covered_by is not None and found.covered_by.approver == org["director"]


def test_route_ends_without_cover_when_nobody_can_approve(org):
    found = route(org["employee"], Decimal("2000000"), "USD")

    assert [s.approver.username for s in found.levels] == ["manager", "director", "cfo"]
    assert found.covered_by is None


def test_admin_check_shows_the_chain_and_the_covering_limit(org, admin_client_of):
    page = admin_client_of.get(
        "/admin/approvals/authoritylimit/who-can-approve/",
        {"requester": org["employee"].pk, "amount": "5000", "currency": "usd"},
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert "Dana Director covers it at level 2 (USD 25,000.00)" in html
    assert "Max Manager" in html


def test_admin_check_names_the_people_in_a_manager_loop(org, admin_client_of):
    Profile.objects.filter(user=org["cfo"]).update(manager=org["employee"])

    page = admin_client_of.get(
        "/admin/approvals/authoritylimit/who-can-approve/",
        {"requester": org["employee"].pk, "amount": "5000", "currency": "USD"},
    )

    assert "loops" in page.content.decode()


def test_admin_check_is_for_staff_only(org):
    client = Client()
    client.force_login(org["employee"])

    response = client.get("/admin/approvals/authoritylimit/who-can-approve/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_limits_list_links_to_the_check(admin_client_of):
    page = admin_client_of.get("/admin/approvals/authoritylimit/")

    assert b"/admin/approvals/authoritylimit/who-can-approve/" in page.content
