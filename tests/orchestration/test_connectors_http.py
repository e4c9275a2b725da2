"""The HTTP request connector, against a real HTTP server on localhost."""

from __future__ import annotations

import socket
from urllib.parse import parse_qsl, urlsplit

import pytest

from orchestration.bpmn.compiler import compile_bpmn
from orchestration.connectors import registry
from orchestration.connectors.base import ConnectorError
from orchestration.connectors.http import HttpRequestConnector
from tests import bpmn

KEY = "step-42-attempt-key"


def run(config: dict[str, str], data: dict | None = None, key: str = KEY) -> dict:
    return registry.get("http.request").run(config, data or {}, key)


def test_registered_under_its_name():
    connector = registry.get("http.request")
    assert isinstance(connector, HttpRequestConnector)
    assert connector.label == "HTTP request"


def test_post_sends_data_as_json_with_idempotency_key(http_server):
    http_server.answer({"status": 201, "body": {"id": 7}})

    result = run({"url": http_server.url + "/orders"}, {"item": "laptop", "amount": 1200.5})

    assert result == {"status": 201, "body": {"id": 7}}
    (request,) = http_server.received
    assert request.method == "POST"
    assert request.path == "/orders"
    assert request.json() == {"item": "laptop", "amount": 1200.5}
    assert request.headers["Idempotency-Key"] == KEY
    assert request.headers["Content-Type"] == "application/json"


def test_get_sends_data_as_query_parameters(http_server):
    run(
        {"url": http_server.url + "/search", "method": "GET"},
        {"q": "chair", "page": 2, "tags": ["a", "b"], "open": True, "none": None},
    )

    (request,) = http_server.received
    assert request.method == "GET"
    assert request.body == b""
    assert parse_qsl(urlsplit(request.path).query) == [
        ("q", "chair"),
        ("page", "2"),
        ("tags", "a"),
        ("tags", "b"),
        ("open", "true"),
    ]
    assert request.headers["Idempotency-Key"] == KEY


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_send_a_json_body(http_server, method):
    run({"url": http_server.url, "method": method}, {"x": 1})

    (request,) = http_server.received
    assert request.method == method
    assert request.json() == {"x": 1}


def test_configured_headers_are_sent(http_server):
    run({"url": http_server.url, "headers": '{"Authorization": "Bearer s3cret", "X-Team": "ops"}'})

    (request,) = http_server.received
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.headers["X-Team"] == "ops"


def test_server_error_is_retryable_and_the_retry_succeeds_with_the_same_key(http_server):
    http_server.answer({"status": 503, "body": "busy"}, {"status": 200, "body": {"ok": True}})

    with pytest.raises(ConnectorError) as failure:
        run({"url": http_server.url})
    assert failure.value.retryable
    assert "503" in str(failure.value)

    assert run({"url": http_server.url}) == {"status": 200, "body": {"ok": True}}
    assert [r.headers["Idempotency-Key"] for r in http_server.received] == [KEY, KEY]


def test_client_error_is_not_retryable_and_quotes_a_short_excerpt(http_server):
    http_server.answer({"status": 404, "body": "no such thing " + "x" * 1000})

    with pytest.raises(ConnectorError) as failure:
        run({"url": http_server.url + "/missing?token=abc"})

    message = str(failure.value)
    assert not failure.value.retryable
    assert "404" in message
    assert "no such thing" in message
    assert len(message) < 450
    assert "token=abc" not in message  # query strings may hold secrets too


def test_too_many_requests_is_retryable(http_server):
    http_server.answer({"status": 429, "body": {"error": "slow down"}})

    with pytest.raises(ConnectorError) as failure:
        run({"url": http_server.url})
    assert failure.value.retryable


def test_errors_never_contain_header_values_even_when_the_server_echoes_them(http_server):
    http_server.answer({"status": 401, "body": "bad credentials: Bearer s3cret-token"})

    with pytest.raises(ConnectorError) as failure:
        run({"url": http_server.url, "headers": '{"Authorization": "Bearer s3cret-token"}'})

    assert "s3cret" not in str(failure.value)
    assert "[redacted]" in str(failure.value)


def test_slow_server_times_out_as_retryable(http_server):
    http_server.answer({"delay": 2.0})

    with pytest.raises(ConnectorError) as failure:
        run({"url": http_server.url, "timeout": "0.3"})

    assert failure.value.retryable
    assert "0.3 s" in str(failure.value)


def test_connection_refused_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port once the probe is closed.

    with pytest.raises(ConnectorError) as failure:
        run({"url": f"http://127.0.0.1:{port}/"})
    assert failure.value.retryable
    assert "could not connect. Nothing answered at that address" in str(failure.value)


def test_redirect_is_not_followed(http_server):
    http_server.answer({"status": 302, "headers": {"Location": "http://elsewhere.example/x?key=1"}})

    with pytest.raises(ConnectorError) as failure:
        run({"url": http_server.url, "headers": '{"X-Api-Key": "k"}'})

    assert not failure.value.retryable
    assert "http://elsewhere.example/x" in str(failure.value)
    assert "key=1" not in str(failure.value)
    assert len(http_server.received) == 1


def test_text_response_is_returned_as_text(http_server):
    http_server.answer({"body": "<p>done</p>", "content_type": "text/html; charset=utf-8"})

    assert run({"url": http_server.url}) == {"status": 200, "body": "<p>done</p>"}


def test_response_path_picks_a_value(http_server):
    http_server.answer({"body": {"data": {"items": [{"id": "a"}, {"id": "b"}]}}})

    result = run({"url": http_server.url, "response_path": "data.items.1.id"})

    assert result == {"status": 200, "body": "b"}


def test_response_path_on_a_non_json_answer_is_not_retryable(http_server):
    http_server.answer({"body": "<html>maintenance</html>", "content_type": "text/html"})

    with pytest.raises(ConnectorError) as failure:
        run({"url": http_server.url, "response_path": "data.id"})
    assert not failure.value.retryable


def test_response_path_missing_from_the_answer_is_not_retryable(http_server):
    http_server.answer({"body": {"data": {}}})

    with pytest.raises(ConnectorError) as failure:
        run({"url": http_server.url, "response_path": "data.id"})
    assert not failure.value.retryable
    assert "'id'" in str(failure.value)


def test_oversized_response_is_refused(http_server):
    http_server.answer({"body": b"x" * (3 * 1024 * 1024)})

    with pytest.raises(ConnectorError) as failure:
        run({"url": http_server.url})
    assert not failure.value.retryable


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({}, "url"),
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": "https://example.com", "method": "TRACE"}, "method"),
        ({"url": "https://example.com", "timeout": "121"}, "timeout"),
        ({"url": "https://example.com", "timeout": "0"}, "timeout"),
        ({"url": "https://example.com", "headers": "[1]"}, "headers"),
        ({"url": "https://example.com", "headers": '{"X": 1}'}, "headers"),
        ({"url": "https://example.com", "headers": '{"Idempotency-Key": "mine"}'}, "headers"),
        ({"url": "https://example.com", "response_path": "a..b"}, "response_path"),
    ],
)
def test_invalid_config_is_reported_by_field(config, field):
    assert field in HttpRequestConnector.validate_config(config)


def test_valid_config_with_defaults_has_no_errors():
    assert HttpRequestConnector.validate_config({"url": "https://api.example.com/v1/orders"}) == {}


def test_invalid_config_at_run_time_is_not_retryable_and_hides_header_values():
    with pytest.raises(ConnectorError) as failure:
        run({"url": "https://example.com", "headers": '{"Authorization": ["Bearer s3cret"]}'})

    assert not failure.value.retryable
    assert "s3cret" not in str(failure.value)


def test_oversized_error_response_is_still_classified_by_status(http_server):
    http_server.answer({"status": 502, "body": "bad gateway " + "x" * (3 * 1024 * 1024)})

    with pytest.raises(ConnectorError) as failure:
        run({"url": http_server.url})
    assert failure.value.retryable
    assert "502" in str(failure.value)


@pytest.mark.parametrize(
    ("properties", "problem"),
    [
        ({}, "Path: Choose a system, or give a full https:// address."),
        ({"url": "ftp://files.example.com/x"}, "Path: Use an http:// or https:// URL"),
        ({"url": "https://erp.example.com/orders", "headers": "[1]"}, "Headers:"),
        ({"url": "https://erp.example.com/orders", "headers": "[" * 3000}, "Headers must be a JSON object"),
        ({"connection": "erp", "url": "orders", "timeout": "0"}, "Timeout:"),
    ],
)
def test_publishing_refuses_http_settings_that_could_never_run(properties, problem):
    xml = bpmn.definitions(
        bpmn.start("start"),
        bpmn.service("call", name="Call the ERP", properties=properties),
        bpmn.end(),
        *bpmn.chain("start", "call", "end"),
    )
    messages = [str(e) for e in compile_bpmn(xml).errors]
    assert any("Call the ERP" in m and "needs its settings fixed" in m and problem in m for m in messages), (
        messages
    )


@pytest.mark.parametrize(
    "properties",
    [
        {"connection": "erp", "url": "orders"},
        {"url": "https://erp.example.com/orders"},
        {"connection": "hook"},
    ],
)
def test_a_system_with_a_path_or_a_full_address_publishes(properties):
    xml = bpmn.definitions(
        bpmn.start("start"),
        bpmn.service("call", name="Call the ERP", properties=properties),
        bpmn.end(),
        *bpmn.chain("start", "call", "end"),
    )
    assert compile_bpmn(xml).ok
