"""Hostile and malformed input gets a clear 4xx, never a 500 (before or after signing in)."""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as PageClient
from django.utils import timezone
from guardian.shortcuts import assign_perm
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from orchestration.api.pagination import Pages
from orchestration.webhooks import rotate_webhook_secret, sign
from tests import bpmn
from tests.orchestration.conftest import Client
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

DEEP = ('{"username": ' + "[" * 3000 + "]" * 3000 + "}").encode()
FLOW = bpmn.definitions(bpmn.start("start", bpmn.field("item")), bpmn.end(), *bpmn.chain("start", "end"))


@pytest.fixture
def owner() -> Any:
    return get_user_model().objects.create_user("olive")


@pytest.fixture
def flow(owner: Any) -> Any:
    version = publish(FLOW, key="orders", owner=owner)
    assign_perm("orchestration.start_workflow", owner, version.workflow)
    return version


def test_deeply_nested_json_to_the_token_endpoint_is_a_400_before_sign_in():
    response = PageClient().post("/api/auth/token/", DEEP, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


@pytest.mark.parametrize("url", ["/api/workflows/orders/start/", "/api/messages/"])
def test_deeply_nested_json_to_api_endpoints_is_a_400(api: Client, owner, flow, url):
    response = api(owner).post(url, DEEP, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_deeply_nested_json_to_a_signed_webhook_is_a_400(flow):
    secret = rotate_webhook_secret(flow.workflow)
    sent_at = int(time.time())
    response = PageClient().post(
        "/hooks/orders/",
        DEEP,
        content_type="application/json",
        HTTP_X_BATON_TIMESTAMP=str(sent_at),
        HTTP_X_BATON_SIGNATURE=sign(secret, sent_at, DEEP),
    )

    assert response.status_code == 400
    assert json.loads(response.content)["detail"] == "The body is not valid JSON."


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_over_the_upload_limit_is_a_json_413(content_type, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"username": "a" * 2000}) if "json" in content_type else "username=" + "a" * 2000

    response = PageClient().post("/api/auth/token/", body, content_type=content_type)

    assert response.status_code == 413
    assert response.json() == {"detail": "The request is larger than Baton accepts."}


def test_a_page_form_over_the_upload_limit_is_a_page_not_a_stack_trace(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = PageClient().post("/accounts/login/", {"username": "a" * 2000, "password": "x"})

    assert response.status_code == 413
    assert b"Too large" in response.content and b"<html" in response.content


def test_an_unknown_api_address_answers_json(api: Client, owner):
    response = api(owner).get("/api/no-such-thing/")

    assert response.status_code == 404
    assert response.json()["detail"]


@pytest.mark.parametrize("limit", ["9223372036854775808", "99999999999999999999999"])
def test_a_huge_limit_is_capped_not_a_database_error(api: Client, owner, flow, limit):
    response = api(owner).get(f"/api/workflows/?limit={limit}&offset={limit}")

    assert response.status_code == 200
    assert response.json()["results"] == [] and response.json()["count"] == 1


def test_a_page_holds_at_most_500_rows():
    request = Request(APIRequestFactory().get("/api/workflows/", {"limit": "100000"}))

    assert Pages().get_limit(request) == 500


@pytest.mark.parametrize(
    "moment", ["1730-04-21T20:05:41.597-21:44", "2026-01-01T00:00:00+23:59", "9999-12-31T23:59:59-01:00"]
)
def test_a_date_time_filter_with_any_offset_python_accepts_is_answered(api: Client, owner, flow, moment):
    response = api(owner).get("/api/instances/", {"started_before": moment, "started_after": moment})

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert "started_" in str(response.json())


def test_a_date_time_filter_outside_the_utc_calendar_is_a_400_naming_it(api: Client, owner, flow):
    response = api(owner).get("/api/instances/", {"started_after": "0001-01-01T00:00:00+05:00"})

    assert response.status_code == 400
    assert "started_after" in response.json()


def test_a_date_time_filter_is_compared_in_utc(api: Client, owner, flow):
    from orchestration.engine import start_instance

    start_instance(flow, {"item": "x"}, initiator=owner, trigger="api")
    # Far-off offsets name the same moment as UTC: an hour from now, written 21:44 behind.
    later = (timezone.now() + datetime.timedelta(hours=1)).astimezone(
        datetime.timezone(-datetime.timedelta(hours=21, minutes=44))
    )

    response = api(owner).get("/api/instances/", {"started_before": later.isoformat()})

    assert response.status_code == 200 and response.json()["count"] == 1


@pytest.mark.parametrize("data", [{"item": "a\x00b"}, {"item\x00": "x"}], ids=["value", "name"])
def test_a_nul_character_in_start_data_is_a_400_naming_the_field(api: Client, owner, flow, data):
    response = api(owner).post("/api/workflows/orders/start/", {"data": data}, format="json")

    assert response.status_code == 400
    assert "NUL" in json.dumps(response.json())
