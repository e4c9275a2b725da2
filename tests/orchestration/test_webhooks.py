"""Inbound webhooks: HMAC-signed JSON starts an instance; bad, stale and replayed requests are refused."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from orchestration.definitions import create_workflow
from orchestration.models import Event, ProcessInstance, WebhookDelivery, Workflow
from orchestration.webhooks import disable_webhook, rotate_webhook_secret, sign
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

FORM_FLOW = bpmn.definitions(
    bpmn.start("start", bpmn.field("item", required=True), bpmn.field("amount", "number", required=True)),
    bpmn.end(),
    bpmn.flow("start", "end"),
)

# A start event that maps a nested payload onto variables (baton:input over `payload`).
MAPPED_FLOW = bpmn.definitions(
    '<bpmn:startEvent id="start" name="Order placed"><bpmn:extensionElements>'
    '<baton:input name="item" expression="payload.order.item"/>'
    '<baton:input name="amount" expression="payload.order.total"/>'
    "</bpmn:extensionElements></bpmn:startEvent>",
    bpmn.script("label", '{"label": item + " for " + string(amount)}'),
    bpmn.end(),
    *bpmn.chain("start", "label", "end"),
)


@pytest.fixture
def secret() -> str:
    """The secret of the published ``orders`` workflow (form: item, amount)."""
    version = publish(FORM_FLOW, key="orders")
    return rotate_webhook_secret(version.workflow)


def _post(
    body: Any,
    secret: str,
    *,
    key: str = "orders",
    timestamp: int | None = None,
    signature: str | None = None,
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent_at = int(time.time()) if timestamp is None else timestamp
    headers = {
        "HTTP_X_BATON_TIMESTAMP": str(sent_at),
        "HTTP_X_BATON_SIGNATURE": signature or sign(secret, sent_at, raw),
    }
    # enforce_csrf_checks: the endpoint must work for senders without a session or token.
    return Client(enforce_csrf_checks=True).post(
        f"/hooks/{key}/", raw, content_type="application/json", **headers
    )


def test_signed_payload_starts_an_instance_by_webhook(secret: str) -> None:
    response = _post({"item": "desk", "amount": 120}, secret)

    assert response.status_code == 201, response.content
    instance = ProcessInstance.objects.get(id=response.json()["instance"])
    assert instance.trigger == "webhook" and instance.initiator is None
    assert instance.variables == {"item": "desk", "amount": 120.0}
    assert instance.status == ProcessInstance.Status.COMPLETED
    started = Event.objects.get(instance=instance, kind="instance.started")
    assert started.actor_label == "webhook"


def test_wrong_signature_is_401_and_starts_nothing(secret: str) -> None:
    response = _post(
        {"item": "desk", "amount": 1}, secret, signature=sign("not-the-secret", int(time.time()), b"{}")
    )

    assert response.status_code == 401
    assert response.json()["detail"] == "The signature does not match."
    assert not ProcessInstance.objects.exists()


def test_body_changed_after_signing_is_401(secret: str) -> None:
    now = int(time.time())
    signature = sign(secret, now, json.dumps({"item": "desk", "amount": 1}).encode())

    response = _post({"item": "desk", "amount": 1000}, secret, timestamp=now, signature=signature)

    assert response.status_code == 401


def test_missing_signature_headers_are_401(secret: str) -> None:
    response = Client().post("/hooks/orders/", {"item": "desk"}, content_type="application/json")

    assert response.status_code == 401
    assert "X-Baton-Signature" in response.json()["detail"]


@pytest.mark.parametrize("age", [6 * 60, -6 * 60])
def test_timestamp_outside_five_minutes_is_401_even_when_signed(secret: str, age: int) -> None:
    response = _post({"item": "desk", "amount": 1}, secret, timestamp=int(time.time()) - age)

    assert response.status_code == 401
    assert "timestamp" in response.json()["detail"]
    assert not ProcessInstance.objects.exists()


def test_exact_replay_is_409_and_starts_nothing_more(secret: str) -> None:
    now = int(time.time())
    first = _post({"item": "desk", "amount": 1}, secret, timestamp=now)

    replay = _post({"item": "desk", "amount": 1}, secret, timestamp=now)

    assert first.status_code == 201
    assert replay.status_code == 409
    assert ProcessInstance.objects.count() == 1


def test_same_payload_signed_again_later_is_a_new_delivery(secret: str) -> None:
    now = int(time.time())

    first = _post({"item": "desk", "amount": 1}, secret, timestamp=now - 1)
    second = _post({"item": "desk", "amount": 1}, secret, timestamp=now)

    assert [first.status_code, second.status_code] == [201, 201]


def test_start_data_errors_are_400_by_field_and_the_delivery_is_not_kept(secret: str) -> None:
    response = _post({"amount": "lots"}, secret)

    assert response.status_code == 400
    assert response.json()["errors"] == {"item": ["This field is required."], "amount": ["Enter a number."]}
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"not json"])
def test_body_must_be_a_json_object(secret: str, body: bytes) -> None:
    response = _post(body, secret)

    assert response.status_code == 400
    assert not ProcessInstance.objects.exists()


def test_payload_is_mapped_through_the_start_inputs() -> None:
    secret = rotate_webhook_secret(publish(MAPPED_FLOW, key="mapped").workflow)

    response = _post({"order": {"item": "desk", "total": 120.5}, "extra": True}, secret, key="mapped")

    assert response.status_code == 201, response.content
    instance = ProcessInstance.objects.get(id=response.json()["instance"])
    assert instance.variables["item"] == "desk" and instance.variables["amount"] == 120.5
    assert instance.variables["label"] == "desk for 120.5"
    assert "extra" not in instance.variables


def test_payload_missing_a_mapped_key_is_400_naming_the_variable() -> None:
    secret = rotate_webhook_secret(publish(MAPPED_FLOW, key="mapped").workflow)

    response = _post({"order": {"item": "desk"}}, secret, key="mapped")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"amount"}


def test_workflow_without_secret_or_published_version_or_at_all_is_404(secret: str) -> None:
    unpublished = create_workflow("draft-only", "Draft only", FORM_FLOW).workflow
    draft_secret = rotate_webhook_secret(unpublished)
    no_secret = publish(FORM_FLOW, key="no-secret").workflow

    responses = [
        _post({"item": "desk", "amount": 1}, draft_secret, key="draft-only"),
        _post({"item": "desk", "amount": 1}, "", key="no-secret"),
        _post({"item": "desk", "amount": 1}, secret, key="nowhere"),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert Workflow.objects.get(key="no-secret") == no_secret


def test_disabled_webhook_is_404_and_a_rotated_secret_replaces_the_old_one(secret: str) -> None:
    workflow = Workflow.objects.get(key="orders")
    new_secret = rotate_webhook_secret(workflow)

    old = _post({"item": "desk", "amount": 1}, secret)
    new = _post({"item": "desk", "amount": 1}, new_secret)
    disable_webhook(workflow)
    disabled = _post({"item": "desk", "amount": 2}, new_secret)

    assert [old.status_code, new.status_code, disabled.status_code] == [401, 201, 404]


def test_only_post_is_accepted(secret: str) -> None:
    assert Client().get("/hooks/orders/").status_code == 405
