"""The messages API: a message with a correlation key resumes the instance waiting for it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from orchestration.engine import REQUEST_INLINE_BLOCKS, start_instance
from orchestration.models import Event, Outbox, ProcessInstance, Step, WorkflowVersion
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


# --- what a message carries


def _order_start(people: dict) -> WorkflowVersion:
    """A message Start "Order in" carrying an order: its id, a quantity, lines, a customer and a note."""
    xml = bpmn.definitions(
        bpmn.start(
            "start",
            bpmn.message_field("order_id", required=True),
            bpmn.message_field("quantity", "integer", required=True),
            bpmn.message_field("lines", "list"),
            bpmn.message_field("customer", "map"),
            bpmn.message_field("ship_on", "date"),
            bpmn.message_field("note"),
            name="Order in",
            message="order_in",
        ),
        bpmn.script("calc", '{"big": quantity > 10}'),
        bpmn.end(),
        *bpmn.chain("start", "calc", "end"),
        messages=("order_in",),
    )
    return publish(xml, key="order-in", owner=people["owner"])


def test_message_start_stores_what_the_message_carries_typed(api: Client, people: dict) -> None:
    _order_start(people)

    response = _send(
        api(people["owner"]),
        name="order_in",
        variables={
            "order_id": "A-1",
            "quantity": "12",
            "lines": [{"sku": "X", "qty": 12}],
            "customer": {"name": "Acme"},
            "ship_on": "2026-12-24",
        },
    )

    assert response.status_code == 200, response.data
    instance = ProcessInstance.objects.get(id=response.data["instance"])
    assert instance.variables == {
        "order_id": "A-1",
        "quantity": 12,  # converted like a start form's whole number
        "lines": [{"sku": "X", "qty": 12}],
        "customer": {"name": "Acme"},
        "ship_on": "2026-12-24",
        "note": "",  # text left out is "", so expressions can test it
        "big": True,
    }


@pytest.mark.parametrize(
    ("variables", "errors"),
    [
        ({"colour": "red"}, {"colour": ["Not a field this message carries."]}),
        ({"quantity": "many"}, {"quantity": ["Enter a whole number."]}),
        ({"quantity": True}, {"quantity": ["Enter a number."]}),
        ({"lines": "X"}, {"lines": ["Expected a list."]}),
        ({"customer": ["Acme"]}, {"customer": ["Expected an object."]}),
        ({"ship_on": "tomorrow"}, {"ship_on": ["Enter a date as YYYY-MM-DD."]}),
        ({"note": 7}, {"note": ["Enter text."]}),
    ],
)
def test_message_start_refuses_data_it_does_not_declare_with_400_naming_the_field(
    api: Client, people: dict, variables: dict, errors: dict
) -> None:
    _order_start(people)

    response = _send(
        api(people["owner"]), name="order_in", variables={"order_id": "A-1", "quantity": 1, **variables}
    )

    assert response.status_code == 400
    assert response.data == {"variables": errors}
    assert not ProcessInstance.objects.exists()


def test_message_start_without_a_required_field_is_400_naming_it(api: Client, people: dict) -> None:
    _order_start(people)

    response = _send(api(people["owner"]), name="order_in", variables={"quantity": 3})

    assert response.status_code == 400
    assert response.data == {"variables": {"order_id": ["This field is required."]}}


def _payment_wait(people: dict) -> WorkflowVersion:
    """An order waits for its payment, which carries an amount (required) and a date."""
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("order", required=True)),
        bpmn.wait_message(
            "paid",
            "payment",
            "order",
            bpmn.message_field("paid_amount", "number", required=True),
            bpmn.message_field("paid_on", "date"),
            name="Wait for payment",
        ),
        bpmn.script("check", '{"settled": paid_amount >= 100.0}'),
        bpmn.end(),
        *bpmn.chain("start", "paid", "check", "end"),
        messages=("payment",),
    )
    return publish(xml, key="typed-orders", owner=people["owner"])


def test_message_resuming_a_wait_stores_what_it_carries_typed(api: Client, people: dict) -> None:
    waiting = start_instance(_payment_wait(people), {"order": "A-1"})

    response = _send(
        api(people["owner"]), name="payment", correlation_key="A-1", variables={"paid_amount": "120.50"}
    )

    assert response.status_code == 200, response.data
    waiting.refresh_from_db()
    assert waiting.status == ProcessInstance.Status.COMPLETED
    assert waiting.variables == {"order": "A-1", "paid_amount": 120.5, "paid_on": "", "settled": True}


@pytest.mark.parametrize(
    ("variables", "errors"),
    [
        ({"paid_amount": 5, "paid_by": "card"}, {"paid_by": ["Not a field this message carries."]}),
        ({"paid_amount": "a lot"}, {"paid_amount": ["Enter a number."]}),
        ({"paid_on": "2026-12-01"}, {"paid_amount": ["This field is required."]}),
    ],
)
def test_message_for_a_wait_refuses_data_it_does_not_declare_and_keeps_waiting(
    api: Client, people: dict, variables: dict, errors: dict
) -> None:
    waiting = start_instance(_payment_wait(people), {"order": "A-1"})

    response = _send(api(people["owner"]), name="payment", correlation_key="A-1", variables=variables)

    assert response.status_code == 400
    assert response.data == {"variables": errors}
    waiting.refresh_from_db()
    assert waiting.status == ProcessInstance.Status.RUNNING and waiting.variables == {"order": "A-1"}
    assert waiting.subscriptions.count() == 1  # the refused message consumed nothing


# --- a web request runs only its share of blocks


def _assert_handed_off(instance_id: str) -> None:
    instance = ProcessInstance.objects.get(id=instance_id)
    assert instance.status == ProcessInstance.Status.RUNNING and not instance.has_incident
    [handed_off] = Step.objects.filter(instance=instance, status=Step.Status.ACTIVE)
    assert handed_off.node_id.startswith("set")
    [row] = Outbox.objects.filter(step__isnull=True)
    assert (row.task, row.args) == ("orchestration.continue_run", [str(instance.id)])
    assert Event.objects.filter(instance=instance, kind="instance.handed_off").exists()


def test_message_start_of_a_long_flow_runs_only_the_requests_share(api: Client, people: dict) -> None:
    publish(bpmn.linear_inline(REQUEST_INLINE_BLOCKS + 20, message="go"), key="long", owner=people["owner"])

    response = _send(api(people["owner"]), name="go", correlation_key="L-1")

    assert response.status_code == 200, response.data
    _assert_handed_off(response.data["instance"])
    assert Step.objects.filter(status=Step.Status.COMPLETED).count() == REQUEST_INLINE_BLOCKS


def test_message_resuming_a_long_flow_runs_only_the_requests_share(api: Client, people: dict) -> None:
    version = publish(
        bpmn.linear_inline(REQUEST_INLINE_BLOCKS + 20, wait_for="go"), key="long", owner=people["owner"]
    )
    waiting = start_instance(version, {}, business_key="L-1")

    response = _send(api(people["owner"]), name="go", correlation_key="L-1")

    assert response.status_code == 200, response.data
    assert response.data["instance"] == str(waiting.id)
    _assert_handed_off(response.data["instance"])
