"""The demo procurement service: validation, idempotency, failure switch."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import requests

from orchestration.demo_procurement.models import DemoOrder

URL = "/demo/procurement/orders/"
ORDER = {"item": "Laptop", "amount": 1249.9, "currency": "eur", "requester": "alice"}


def post(client, body, key: str | None = "key-1"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(URL, body, content_type="application/json", headers=headers)


@pytest.mark.django_db
def test_places_an_order(client):
    response = post(client, {**ORDER, "justification": "New hire"})

    assert response.status_code == 201
    body = response.json()
    assert body["order_id"].startswith("PO-")
    assert body["status"] == "placed"
    assert body["amount"] == "1249.90"
    assert body["currency"] == "EUR"
    assert response["Location"] == f"{URL}{body['order_id']}/"
    order = DemoOrder.objects.get()
    assert (order.order_id, order.amount, order.justification) == (
        body["order_id"],
        Decimal("1249.90"),
        "New hire",
    )


@pytest.mark.django_db
def test_same_idempotency_key_returns_the_same_order(client):
    first = post(client, ORDER)
    again = post(client, ORDER)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert DemoOrder.objects.count() == 1


@pytest.mark.django_db
def test_same_key_for_a_different_order_is_a_conflict(client):
    post(client, ORDER)
    response = post(client, {**ORDER, "amount": 5})

    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["errors"]
    assert DemoOrder.objects.count() == 1


@pytest.mark.django_db
def test_missing_idempotency_key_is_refused(client):
    response = post(client, ORDER, key=None)

    assert response.status_code == 400
    assert response.json() == {"errors": {"Idempotency-Key": ["This header is required."]}}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"item": ""}, "item"),
        ({"amount": 0}, "amount"),
        ({"amount": -3}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "E1R"}, "currency"),
        ({"requester": None}, "requester"),
    ],
)
def test_invalid_fields_are_listed(client, change, field):
    response = post(client, {**ORDER, **change})

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert all(isinstance(message, str) for message in errors[field])
    assert not DemoOrder.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["not json", "[1, 2]"])
def test_body_must_be_a_json_object(client, body):
    response = client.post(URL, body, content_type="application/json", headers={"Idempotency-Key": "k"})

    assert response.status_code == 400
    assert "__all__" in response.json()["errors"]


@pytest.mark.django_db
def test_simulate_error_answers_503(client):
    response = post(client, {**ORDER, "simulate": "error"})

    assert response.status_code == 503
    assert not DemoOrder.objects.exists()


@pytest.mark.django_db
def test_order_can_be_read_back(client):
    order_id = post(client, ORDER).json()["order_id"]

    response = client.get(f"{URL}{order_id}/")

    assert response.status_code == 200
    assert response.json()["order_id"] == order_id
    assert client.get(f"{URL}PO-999999/").status_code == 404


@pytest.mark.django_db
def test_orders_collection_only_accepts_post(client):
    assert client.get(URL).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_place_one_order(live_server):
    url = live_server.url + URL
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def place() -> None:
        response = requests.post(url, json=ORDER, headers={"Idempotency-Key": "race"}, timeout=30)
        with lock:
            results.append((response.status_code, response.json()["order_id"]))

    threads = [threading.Thread(target=place) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(status for status, _ in results) == [200] * 7 + [201]
    assert len({order_id for _, order_id in results}) == 1
    assert DemoOrder.objects.count() == 1


@pytest.mark.django_db
def test_admin_lists_and_searches_orders(admin_client, client):
    order_id = post(client, ORDER).json()["order_id"]

    response = admin_client.get("/admin/demo_procurement/demoorder/", {"q": order_id})

    assert response.status_code == 200
    assert order_id in response.text


def test_looks_vendors_up_by_name_and_says_which_it_does_not_know(client):
    found = client.get("/demo/procurement/vendors/", {"name": "  northwind  computers LTD "})
    assert found.status_code == 200
    assert found.json() == {
        "vendor_id": "V-1001",
        "name": "Northwind Computers Ltd",
        "status": "approved",
        "payment_terms": "30 days",
    }
    unknown = client.get("/demo/procurement/vendors/", {"name": "Nobody Inc"})
    assert unknown.status_code == 404 and "Nobody Inc" in unknown.json()["errors"]["name"][0]
    assert client.get("/demo/procurement/vendors/").status_code == 400
