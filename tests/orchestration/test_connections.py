"""Connections: secret headers encrypted at rest, used by the HTTP connector, never shown back."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection as db
from django.test import Client

from orchestration import connections
from orchestration.connectors import registry
from orchestration.connectors.base import ConnectorError
from orchestration.models import Connection

pytestmark = pytest.mark.django_db

TOKEN = "Bearer s3cr3t-token-value"


def _connection(name: str = "erp", base_url: str = "", **headers: str) -> Connection:
    item = Connection(name=name, base_url=base_url)
    connections.store_headers(item, headers or {"Authorization": TOKEN})
    item.save()
    return item


def _run(config: dict[str, Any]) -> dict[str, Any]:
    return registry.get("http.request").run(config, {"n": 1}, "key-1")


def test_secret_headers_are_stored_encrypted_and_read_back():
    item = _connection()

    with db.cursor() as cursor:
        cursor.execute(
            "SELECT secret_token, header_names FROM orchestration_connection WHERE id = %s", [item.id]
        )
        token, names = cursor.fetchone()
    assert "s3cr3t" not in token and names == "Authorization"
    assert connections.secret_headers(Connection.objects.get(id=item.id)) == {"Authorization": TOKEN}


def test_a_changed_key_makes_secrets_unreadable_with_a_clear_message(settings):
    settings.BATON_ENCRYPTION_KEY = "y" * 43 + "="
    item = _connection()
    settings.BATON_ENCRYPTION_KEY = "x" * 43 + "="  # the old key dropped from the list

    with pytest.raises(connections.ConnectionUnavailable, match=r"cannot be decrypted.*BATON_ENCRYPTION_KEY"):
        connections.secret_headers(item)


def test_http_request_sends_the_connections_headers_to_a_path_under_its_base_url(http_server):
    _connection(base_url=f"{http_server.url}/api/v2")

    result = _run({"connection": "erp", "url": "/orders/", "method": "POST"})

    assert result["status"] == 200
    received = http_server.received[-1]
    assert received.path == "/api/v2/orders/"
    assert received.headers["Authorization"] == TOKEN


def test_a_secret_echoed_back_in_an_error_is_redacted(http_server):
    _connection(base_url=http_server.url)
    http_server.answer({"status": 400, "body": f"bad header {TOKEN}"})

    with pytest.raises(ConnectorError) as caught:
        _run({"connection": "erp", "url": "/orders/"})

    assert "s3cr3t" not in str(caught.value)


def test_an_unknown_connection_is_a_non_retryable_error_naming_it():
    with pytest.raises(ConnectorError, match="no connection named 'nope'") as caught:
        _run({"connection": "nope", "url": "https://example.com/"})

    assert caught.value.retryable is False


def test_a_relative_url_without_a_connection_base_is_refused():
    assert registry.get("http.request").validate_config({"url": "/orders/"}) == {
        "url": ["Use an http:// or https:// URL, or a path with a connection that has a base URL."]
    }


def test_admin_shows_header_names_but_never_values_and_keeps_them_when_left_blank():
    item = _connection()
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client = Client()
    client.force_login(admin)

    page = client.get(f"/admin/orchestration/connection/{item.id}/change/")
    assert page.status_code == 200
    assert b"Authorization" in page.content and b"s3cr3t" not in page.content

    client.post(
        f"/admin/orchestration/connection/{item.id}/change/",
        {"name": "erp", "label": "ERP", "base_url": "https://erp.example.com", "new_headers": ""},
    )
    item.refresh_from_db()
    assert item.label == "ERP" and connections.secret_headers(item) == {"Authorization": TOKEN}

    client.post(
        f"/admin/orchestration/connection/{item.id}/change/",
        {"name": "erp", "label": "ERP", "base_url": "", "new_headers": '{"X-Api-Key": "k2"}'},
    )
    item.refresh_from_db()
    assert connections.secret_headers(item) == {"X-Api-Key": "k2"} and item.header_names == "X-Api-Key"


def test_a_block_cannot_send_a_connections_secrets_to_another_host(http_server):
    _connection(base_url="https://erp.example.com/api")

    errors = registry.get("http.request").validate_config(
        {"connection": "erp", "url": f"{http_server.url}/steal"}
    )

    assert errors == {"url": ["With connection 'erp', use a path under https://erp.example.com/api."]}
    with pytest.raises(ConnectorError, match="Invalid HTTP request settings"):
        _run({"connection": "erp", "url": f"{http_server.url}/steal"})
    assert http_server.received == []


def test_a_connection_without_a_base_url_sends_its_secrets_nowhere(http_server):
    _connection()

    errors = registry.get("http.request").validate_config(
        {"connection": "erp", "url": f"{http_server.url}/x"}
    )

    assert errors == {"connection": ["Connection 'erp' has no base URL to send its secrets to."]}


def test_a_server_echoing_the_secret_in_a_success_does_not_put_it_in_the_output(http_server):
    _connection(base_url=http_server.url)
    http_server.answer({"status": 200, "body": {"you_sent": {"Authorization": TOKEN}, "ok": True}})

    result = _run({"connection": "erp", "url": "/echo"})

    assert result["body"] == {"you_sent": {"Authorization": "[redacted]"}, "ok": True}


def test_a_server_echoing_the_secret_as_a_key_does_not_put_it_in_the_output(http_server):
    _connection(base_url=http_server.url)
    http_server.answer({"status": 200, "body": {"seen": {TOKEN: True}}})

    result = _run({"connection": "erp", "url": "/echo"})

    assert "s3cr3t" not in str(result)
    assert result["body"] == {"seen": {"[redacted]": True}}
