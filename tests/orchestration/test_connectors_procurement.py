"""The procurement connector against the real demo procurement service over HTTP."""

from __future__ import annotations

import pytest

from orchestration.connectors import registry
from orchestration.connectors.base import ConnectorError
from orchestration.demo_procurement.models import DemoOrder

ORDER = {"item": "Laptop", "amount": 1249.9, "currency": "EUR", "requester": "alice"}

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def procurement_url(live_server, settings) -> str:
    settings.BATON_PROCUREMENT_URL = live_server.url + "/demo/procurement/orders/"
    return settings.BATON_PROCUREMENT_URL


def place(data: dict, key: str, config: dict | None = None) -> dict:
    return registry.get("procurement.create_order").run(config or {}, data, key)


def test_registered_under_its_name():
    assert registry.get("procurement.create_order").label == "Place procurement order"


def test_places_an_order(procurement_url):
    result = place({**ORDER, "justification": "New hire"}, "step-1")

    order = DemoOrder.objects.get()
    assert result == {"order_id": order.order_id, "status": "placed"}
    assert order.idempotency_key == "step-1"
    assert order.justification == "New hire"


def test_same_idempotency_key_twice_places_one_order(procurement_url):
    first = place(ORDER, "step-2")
    again = place(ORDER, "step-2")

    assert again == first
    assert DemoOrder.objects.count() == 1


def test_different_keys_place_different_orders(procurement_url):
    assert place(ORDER, "step-3")["order_id"] != place(ORDER, "step-4")["order_id"]


def test_unavailable_service_is_retryable(procurement_url):
    with pytest.raises(ConnectorError) as failure:
        place({**ORDER, "simulate": "error"}, "step-5")

    assert failure.value.retryable
    assert "503" in str(failure.value)
    assert not DemoOrder.objects.exists()


def test_rejected_order_is_not_retryable(procurement_url):
    with pytest.raises(ConnectorError) as failure:
        place({**ORDER, "amount": -1}, "step-6")

    assert not failure.value.retryable
    assert "400" in str(failure.value)
    assert "amount" in str(failure.value)


def test_config_url_overrides_the_setting(live_server, settings):
    settings.BATON_PROCUREMENT_URL = "http://127.0.0.1:9/nowhere/"

    result = place(ORDER, "step-7", {"url": live_server.url + "/demo/procurement/orders/"})

    assert result["order_id"] == DemoOrder.objects.get().order_id


def test_answer_without_an_order_is_not_retryable(http_server):
    http_server.answer({"status": 201, "body": {"ok": True}})

    with pytest.raises(ConnectorError) as failure:
        place(ORDER, "step-8", {"url": http_server.url + "/orders/"})

    assert not failure.value.retryable
    (request,) = http_server.received
    assert request.json() == ORDER
    assert request.headers["Idempotency-Key"] == "step-8"
