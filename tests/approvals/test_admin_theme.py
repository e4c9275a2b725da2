"""Every admin page renders in Baton's clothes for a superuser and for staff with view rights."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo() -> dict[str, Any]:
    call_command("baton_demo", stdout=StringIO())
    return {u.username: u for u in get_user_model().objects.all()}


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _pages() -> list[tuple[str, str]]:
    """Each registered model's list, add form and the change form of its first row."""
    pages: list[tuple[str, str]] = [("index", reverse("admin:index"))]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(("changelist", reverse("admin:{}_{}_changelist".format(*info))))
        pages.append(("add", reverse("admin:{}_{}_add".format(*info))))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(("change", reverse("admin:{}_{}_change".format(*info), args=[first.pk])))
    return pages


def _looks_like_baton(html: str) -> None:
    assert "/static/baton/admin.css" in html
    assert 'class="baton-admin-name">Baton<' in html
    assert "admin/css/dark_mode.css" not in html and "theme-toggle" not in html
    assert "Django administration" not in html


def test_every_admin_page_renders_for_a_superuser_in_the_products_look(demo):
    client = _client(demo["admin"])
    for kind, url in _pages():
        response = client.get(url)
        # Some models add nothing by hand (tasks, events): their add page is refused, never an error.
        assert response.status_code in ((200, 403) if kind == "add" else (200,)), url
        if response.status_code == 200:
            _looks_like_baton(response.content.decode())


def test_staff_who_may_view_see_the_index_lists_and_forms(demo):
    staff = get_user_model().objects.create_user("clerk", first_name="Cleo", last_name="Clerk", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    client = _client(staff)
    for kind, url in _pages():
        response = client.get(url)
        assert response.status_code == (403 if kind == "add" else 200), url
    html = client.get(reverse("admin:index")).content.decode()
    _looks_like_baton(html)
    assert "Cleo Clerk" in html and 'data-testid="admin-back-to-app"' in html


def test_the_header_links_back_to_the_app_and_to_the_org_chart(demo):
    html = _client(demo["admin"]).get(reverse("admin:index")).content.decode()

    assert '<a class="baton-admin-back" href="/"' in html
    assert 'href="/admin/approvals/profile/org-chart/" data-testid="admin-org-chart-link"' in html


def test_the_admin_sign_in_page_has_the_products_look():
    response = Client().get(reverse("admin:login"))

    assert response.status_code == 200
    assert "/static/baton/admin.css" in response.content.decode()


def test_people_outside_the_staff_are_sent_to_sign_in(demo):
    response = _client(demo["employee"]).get(reverse("admin:index"))

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
