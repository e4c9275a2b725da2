"""The org chart in the admin: profiles on the user page, limits, and refused manager loops."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from approvals.models import AuthorityLimit, Profile

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> dict[str, Any]:
    users = get_user_model().objects
    director = users.create_user("director", first_name="Dana", last_name="Director")
    manager = users.create_user("manager", first_name="Max", last_name="Manager")
    employee = users.create_user("employee", first_name="Emma", last_name="Employee")
    Profile.objects.create(user=director)
    Profile.objects.create(user=manager, manager=director)
    Profile.objects.create(user=employee, manager=manager, department="Marketing")
    AuthorityLimit.objects.create(user=manager, amount=Decimal("2000"), currency="USD")
    return {"director": director, "manager": manager, "employee": employee}


def test_user_page_shows_the_manager_chain_and_direct_reports(admin_client, org):
    page = admin_client.get(f"/admin/auth/user/{org['manager'].pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Dana Director" in html and "Emma Employee" in html and "Manager chain" in html


def test_profile_admin_refuses_a_manager_loop_naming_the_people(admin_client, org):
    profile = Profile.objects.get(user=org["director"])

    page = admin_client.post(
        f"/admin/approvals/profile/{profile.pk}/change/",
        {"user": org["director"].pk, "manager": org["employee"].pk},
    )

    assert page.status_code == 200
    assert "Manager chain loops: director → employee → manager → director" in page.content.decode()
    assert Profile.objects.get(pk=profile.pk).manager is None


@pytest.mark.parametrize(
    "url",
    ["/admin/approvals/authoritylimit/", "/admin/approvals/profile/", "/admin/auth/user/?q=Marketing"],
)
def test_org_chart_lists_render(admin_client, org, url):
    assert admin_client.get(url).status_code == 200
