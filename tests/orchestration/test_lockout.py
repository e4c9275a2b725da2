"""Brute force on the sign-in page and the token endpoint is locked out, and an administrator can unlock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from rest_framework.test import APIClient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("few_failures")]

PASSWORD = "correct horse battery"
LIMIT = 3


@pytest.fixture
def few_failures() -> Any:
    # The session's fast password hasher (tests/conftest.py) keeps the dozens of sign-ins cheap.
    with override_settings(AXES_FAILURE_LIMIT=LIMIT):
        yield


@pytest.fixture
def olive() -> Any:
    return get_user_model().objects.create_user("olive", password=PASSWORD)


def _sign_in(client: Client, password: str) -> Any:
    return client.post("/accounts/login/", {"username": "olive", "password": password})


def _token(client: APIClient, password: str, address: str = "127.0.0.1") -> Any:
    return client.post(
        "/api/auth/token/", {"username": "olive", "password": password}, format="json", REMOTE_ADDR=address
    )


def test_defaults_are_ten_failures_and_fifteen_minutes() -> None:
    with override_settings():  # the module's fixture lowered the limit; read what settings.py says
        from orchestration import settings as project

    assert project.AXES_FAILURE_LIMIT == 10
    assert project.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert project.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_sign_in_page_locks_out_after_the_limit_with_a_page_that_says_why(olive: Any) -> None:
    client = Client()
    for _ in range(LIMIT - 1):
        assert _sign_in(client, "wrong").status_code == 200  # the form again, with its error

    locked = _sign_in(client, "wrong")
    assert locked.status_code == 429
    assert "text/html" in locked["Content-Type"]
    assert b"Too many failed sign-ins" in locked.content
    assert b"try again in 15 minutes" in locked.content
    assert locked["Retry-After"] == "900"

    # Even the right password is refused while locked out.
    assert _sign_in(client, PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


def test_token_endpoint_locks_out_with_a_json_429(olive: Any) -> None:
    client = APIClient()
    for _ in range(LIMIT - 1):
        assert _token(client, "wrong").status_code == 400

    locked = _token(client, "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.json()["detail"]
    right = _token(client, PASSWORD)
    assert right.status_code == 429
    assert "token" not in right.json()


def test_lockout_is_per_username_and_address(olive: Any) -> None:
    client = APIClient()
    for _ in range(LIMIT):
        _token(client, "wrong", address="203.0.113.9")
    assert _token(client, PASSWORD, address="203.0.113.9").status_code == 429
    # Someone else's guessing does not lock the real user out from their own address.
    assert _token(client, PASSWORD, address="198.51.100.7").status_code == 200


def test_signing_in_before_the_limit_forgets_the_failures(olive: Any) -> None:
    client = Client()
    for _ in range(LIMIT - 1):
        _sign_in(client, "wrong")
    assert _sign_in(client, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(LIMIT - 1):
        assert _sign_in(client, "wrong").status_code == 200


def test_administrator_unlocks_in_the_admin(olive: Any) -> None:
    api = APIClient()
    for _ in range(LIMIT):
        _token(api, "wrong")
    assert _token(api, PASSWORD).status_code == 429
    admin = get_user_model().objects.create_superuser("ada", password=PASSWORD)
    staff = Client()
    staff.force_login(admin)
    attempt = AccessAttempt.objects.get(username="olive")

    listing = staff.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert b"olive" in listing.content
    deleted = staff.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302

    assert _token(api, PASSWORD).status_code == 200
    assert settings.AXES_RESET_ON_SUCCESS
