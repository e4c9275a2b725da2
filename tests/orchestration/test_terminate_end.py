"""Stop everything (terminate end): the instance ends at once, every other open piece of work is closed."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from approvals.actions import TaskAlreadyDecided, complete_task
from approvals.models import ApprovalTask
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.engine import correlate_message, start_instance
from orchestration.engine.worker import claim_step, complete_step
from orchestration.models import (
    Event,
    Incident,
    MessageSubscription,
    Outbox,
    ProcessInstance,
    Step,
    Timer,
)
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _child() -> str:
    return bpmn.definitions(
        bpmn.start(),
        bpmn.user_task("check", groups="Finance"),
        bpmn.end(),
        *bpmn.chain("start", "check", "end"),
    )


def _everything_open() -> str:
    """Five paths at once: an approval, a connector, a 3-day wait, a sub-process, and a "stop" message."""
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("order", required=True)),
        bpmn.gateway("split", "parallel"),
        bpmn.user_task("approve", name="Approve order", groups="Finance"),
        bpmn.service("erp", properties={"url": "https://erp.example/orders", "method": "POST"}),
        bpmn.wait_timer("pause", "P3D"),
        bpmn.call("sub", "child-check"),
        bpmn.wait_message("withdrawn", "withdraw", "order", name="Customer withdraws"),
        bpmn.stop("stop", outcome="withdrawn", name="Stop everything"),
        bpmn.gateway("join", "parallel"),
        bpmn.end("end", outcome="done"),
        bpmn.flow("start", "split"),
        *[bpmn.flow("split", target) for target in ("approve", "erp", "pause", "sub", "withdrawn")],
        *[bpmn.flow(source, "join") for source in ("approve", "erp", "pause", "sub")],
        *bpmn.chain("withdrawn", "stop"),
        *bpmn.chain("join", "end"),
        messages=("withdraw",),
    )


@pytest.fixture
def alice() -> object:
    user = get_user_model().objects.create_user("alice", password="pw")
    user.groups.add(Group.objects.create(name="Finance"))
    return user


def test_stop_everything_closes_every_open_piece_of_work_and_completes_with_its_outcome(
    alice: object, django_capture_on_commit_callbacks: object
) -> None:
    publish(_child(), key="child-check")
    instance = start_instance(publish(_everything_open(), key="everything"), {"order": "A-1"})
    erp = Step.objects.get(instance=instance, node_id="erp")
    assert claim_step(erp.id, erp.attempt) is not None  # a worker is running the connector
    child = ProcessInstance.objects.get(parent_step__instance=instance)
    task = ApprovalTask.objects.get(instance=instance)
    inbox = Client()
    inbox.force_login(alice)  # type: ignore[arg-type]
    assert "Approve order" in inbox.get("/inbox/?tab=queue").content.decode()

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        correlate_message("withdraw", "A-1")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "withdrawn"
    assert not instance.steps.filter(status__in=Step.OPEN_STATUSES).exists()
    cancelled = set(instance.steps.filter(status=Step.Status.CANCELLED).values_list("node_id", flat=True))
    assert cancelled == {"approve", "erp", "pause", "sub"}
    assert instance.steps.get(node_id="stop").status == Step.Status.COMPLETED
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.CANCELLED
    assert "Approve order" not in inbox.get("/inbox/?tab=queue").content.decode()
    with pytest.raises(TaskAlreadyDecided):
        complete_task(task.id, alice, "approved", comment="too late")  # type: ignore[arg-type]
    assert not Timer.objects.filter(instance=instance, fired_at__isnull=True, cancelled_at__isnull=True)
    assert not MessageSubscription.objects.filter(instance=instance).exists()
    assert not Outbox.objects.filter(step__instance=instance).exists()
    child.refresh_from_db()
    assert child.status == ProcessInstance.Status.CANCELLED
    assert not ApprovalTask.objects.filter(instance=child, status=ApprovalTask.Status.OPEN).exists()
    events = dict(Event.objects.filter(instance=instance).values_list("kind", "message"))
    assert events["instance.stopped"] == '"Stop everything" reached: everything else stopped'
    assert events["instance.completed"] == "Process completed (withdrawn)"

    # The connector answers late: recorded in the history, never applied.
    assert complete_step(erp.id, erp.attempt, {"status": 201}, instance_id=instance.id) is None
    erp.refresh_from_db()
    assert erp.status == Step.Status.CANCELLED and erp.output == {}
    late = Event.objects.get(instance=instance, kind="step.late_result")
    assert late.message == "erp: a result arrived after the step was cancelled; ignored"
    assert not Event.objects.filter(instance=instance, kind="step.completed", step=erp).exists()


def test_stop_everything_reached_in_the_same_run_as_other_tokens_stops_them_too() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("split", "parallel"),
        bpmn.stop("stop", outcome="stopped"),
        bpmn.script("later", '{"ran": true}'),
        bpmn.end(),
        bpmn.flow("split", "stop"),
        bpmn.flow("split", "later"),
        bpmn.flow("start", "split"),
        *bpmn.chain("later", "end"),
    )

    instance = start_instance(publish(xml, key="stop-now"), {})

    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "stopped"
    assert "ran" not in instance.variables
    assert not Step.objects.filter(instance=instance, node_id__in=["later", "end"]).exists()


def test_an_open_incident_is_closed_as_cancelled() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("split", "parallel"),
        bpmn.script("broken", '{"x": 1 / 0}'),
        bpmn.end(),
        bpmn.wait_message("abort", "abort", "instance_id"),
        bpmn.stop("stop"),
        bpmn.flow("start", "split"),
        bpmn.flow("split", "broken"),
        bpmn.flow("split", "abort"),
        *bpmn.chain("broken", "end"),
        *bpmn.chain("abort", "stop"),
        messages=("abort",),
    )
    instance = start_instance(publish(xml, key="stop-incident"), {})
    assert instance.has_incident

    correlate_message("abort", str(instance.id))

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and not instance.has_incident
    assert Incident.objects.get(instance=instance).resolution == Incident.Resolution.CANCELLED


def test_a_stop_with_outgoing_flows_is_refused() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.stop("stop"),
        bpmn.end(),
        *bpmn.chain("start", "stop", "end"),
    )
    errors = [str(e) for e in compile_bpmn(xml).errors]
    assert errors == ['Stop everything "Stop everything" (stop): an End cannot have outgoing flows.']


def test_a_stop_without_outgoing_flows_compiles_as_its_own_kind() -> None:
    xml = bpmn.definitions(bpmn.start(), bpmn.stop("stop", outcome="x"), *bpmn.chain("start", "stop"))
    result = compile_bpmn(xml)
    assert result.graph is not None, result.errors
    assert result.graph["nodes"]["stop"]["kind"] == "terminate_end"
    assert result.graph["nodes"]["stop"]["config"] == {"outcome": "x"}


# --- a file drawn in Camunda Modeler


def test_a_camunda_file_stops_the_review_when_the_customer_withdraws() -> None:
    get_user_model().objects.create_user("lena").groups.add(Group.objects.create(name="Legal"))
    xml = (Path(__file__).parent / "bpmn_files" / "camunda_contract_withdrawal.bpmn").read_text()
    version = publish(xml, key="contract-review")
    assert version.graph["nodes"]["Event_stop"]["kind"] == "terminate_end"
    instance = start_instance(version, {"contract_id": "C-9"})
    task = ApprovalTask.objects.get(instance=instance)
    assert Timer.objects.get(instance=instance).payload == {"target": "Event_lapsed"}

    correlate_message("contract_withdrawn", "C-9")

    instance.refresh_from_db()
    assert (instance.status, instance.outcome) == (ProcessInstance.Status.COMPLETED, "withdrawn")
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.CANCELLED
    assert instance.steps.get(node_id="Activity_review").status == Step.Status.CANCELLED
    assert not Timer.objects.filter(instance=instance, fired_at__isnull=True, cancelled_at__isnull=True)
