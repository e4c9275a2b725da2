"""The messages API: a message with a correlation key resumes the instance waiting for it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from orchestration.engine import start_instance
from orchestration.models import ProcessInstance, WorkflowVersion
from tests import bpmn
from tests.orchestration.conftest import Client
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    return {name: users.objects.create_user(name) for name in ("owner", "victor", "olga")}


@pytest.fixture
def version(people: dict) -> WorkflowVersion:
    """An order waits for its payment message, keyed by the order number."""
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("order", required=True)),
        bpmn.wait_message("paid", "payment", "order", name="Wait for payment"),
        bpmn.end(),
        *bpmn.chain("start", "paid", "end"),
        messages=("payment",),
    )
    return publish(xml, key="orders", owner=people["owner"])


def _send(client: APIClient, **body: Any) -> Any:
    return client.post("/api/messages/", body, format="json")


def test_message_resumes_the_instance_waiting_with_its_key(
    api: Client, people: dict, version: WorkflowVersion
) -> None:
    other = start_instance(version, {"order": "A-1"})
    waiting = start_instance(version, {"order": "B-2"})

    response = _send(
        api(people["owner"]), name="payment", correlation_key="B-2", variables={"paid_amount": 12.5}
    )

    assert response.status_code == 200, response.data
    assert response.data == {"instance": str(waiting.id), "status": "completed"}
    waiting.refresh_from_db()
    other.refresh_from_db()
    assert waiting.variables["paid_amount"] == 12.5
    assert other.status == ProcessInstance.Status.RUNNING


def test_message_nobody_waits_for_is_404_saying_so(
    api: Client, people: dict, version: WorkflowVersion
) -> None:
    start_instance(version, {"order": "A-1"})

    response = _send(api(people["owner"]), name="payment", correlation_key="Z-9")

    assert response.status_code == 404
    assert response.data["detail"] == "No process waits for message 'payment' with key 'Z-9'."


def test_message_needs_start_permission_on_the_waiting_workflow(
    api: Client, people: dict, version: WorkflowVersion
) -> None:
    instance = start_instance(version, {"order": "A-1"})
    assign_perm("orchestration.view_workflow", people["victor"], version.workflow)

    viewer = _send(api(people["victor"]), name="payment", correlation_key="A-1")
    outsider = _send(api(people["olga"]), name="payment", correlation_key="A-1")

    assert viewer.status_code == 403
    # Indistinguishable from a message nobody waits for: nothing about the process leaks.
    assert outsider.status_code == 404
    assert outsider.data["detail"] == "No process waits for message 'payment' with key 'A-1'."
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.RUNNING


def test_message_without_a_name_is_400_naming_the_field(api: Client, people: dict) -> None:
    response = _send(api(people["owner"]), correlation_key="A-1", variables=[])

    assert response.status_code == 400
    assert set(response.data) == {"name", "variables"}


def test_message_start_event_starts_an_instance(api: Client, people: dict) -> None:
    xml = bpmn.definitions(
        bpmn.start("start", message="order_received"),
        bpmn.end(),
        bpmn.flow("start", "end"),
        messages=("order_received",),
    )
    publish(xml, key="on-order", owner=people["owner"])

    response = _send(
        api(people["owner"]), name="order_received", correlation_key="K-9", variables={"sku": "X"}
    )

    assert response.status_code == 200
    instance = ProcessInstance.objects.get(id=response.data["instance"])
    assert instance.trigger == "message" and instance.business_key == "K-9"
    assert instance.initiator == people["owner"]


def test_message_cannot_rewrite_what_the_process_already_knows(
    api: Client, people: dict, version: WorkflowVersion
) -> None:
    waiting = start_instance(version, {"order": "A-1"})

    response = _send(
        api(people["owner"]),
        name="payment",
        correlation_key="A-1",
        variables={"order": "FORGED", "paid": True},
    )

    assert response.status_code == 400
    assert response.data == {"variables": ["A message cannot change existing variables: order."]}
    waiting.refresh_from_db()
    assert waiting.status == ProcessInstance.Status.RUNNING and waiting.variables == {"order": "A-1"}
    assert waiting.subscriptions.count() == 1  # still waiting: the refused message consumed nothing


def test_permission_is_checked_on_the_process_the_message_actually_reaches(
    people: dict, version: WorkflowVersion
) -> None:
    from orchestration.engine import MessageRefused, correlate_message

    waiting = start_instance(version, {"order": "A-1"})

    with pytest.raises(MessageRefused, match="may not send this message"):
        correlate_message("payment", "A-1", actor=people["olga"], authorize=lambda workflow: False)

    waiting.refresh_from_db()
    assert waiting.status == ProcessInstance.Status.RUNNING
