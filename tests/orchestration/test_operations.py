"""The engine's operator actions: retry after fixing data, skip with values, cancel, move the token, races."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection

from approvals.models import ApprovalTask
from approvals.notifications import send_cancelled_email
from orchestration.engine import (
    InvalidState,
    StartDataError,
    cancel_instance,
    move_token,
    retry_incident,
    skip_incident,
    start_instance,
)
from orchestration.engine.worker import claim_step, complete_step, fail_step
from orchestration.models import Event, Incident, Outbox, ProcessInstance, Step
from tests import bpmn
from tests.orchestration.factories import publish
from tests.orchestration.ops_data import OpsData, make_ops_data


@pytest.fixture
def data(db: None) -> OpsData:
    return make_ops_data()


def _incident(instance: ProcessInstance) -> Incident:
    return Incident.objects.get(instance=instance, resolved_at__isnull=True)


def test_retry_after_fixing_data_converts_it_like_start_data_and_keeps_old_and_new(data: OpsData) -> None:
    instance = data.start("Paper", 0)
    owner = data.people["owner"]

    retried = retry_incident(
        _incident(instance).id, actor=owner, variables={"count": "4"}, reason="Count was zero"
    )

    assert retried.variables["count"] == 4 and retried.variables["share"] == 25
    changed = Event.objects.get(instance=instance, kind="variables.set", data__changes__has_key="count")
    assert changed.data["changes"]["count"] == {"old": 0, "new": 4} and changed.actor == owner
    event = Event.objects.get(instance=instance, kind="incident.retried")
    assert (
        event.actor == owner and event.data["reason"] == "Count was zero" and event.data["fixed"] == ["count"]
    )
    assert "Count was zero" in event.message


@pytest.mark.parametrize(
    ("variables", "field", "message"),
    [
        ({"count": "four"}, "count", "Enter a whole number."),
        ({"item": ""}, "item", "This field is required."),
        ({"colour": "red"}, "colour", "The process has no data of this name."),
    ],
)
def test_retry_refuses_data_that_does_not_fit_and_leaves_the_incident_open(
    data: OpsData, variables: dict[str, Any], field: str, message: str
) -> None:
    instance = data.start("Paper", 0)

    with pytest.raises(StartDataError) as refused:
        retry_incident(_incident(instance).id, actor=data.people["owner"], variables=variables)

    assert refused.value.errors == {field: [message]}
    assert _incident(instance).resolved_at is None
    assert ProcessInstance.objects.get(id=instance.id).variables["count"] == 0


def test_skip_sets_the_values_the_step_should_have_produced(data: OpsData) -> None:
    instance = data.start("Paper", 0)

    skipped = skip_incident(
        _incident(instance).id, actor=data.people["owner"], variables={"share": "12"}, reason="Shared by hand"
    )

    assert skipped.variables["share"] == 12  # declared a whole number (100 / count): "12" typed becomes one
    step = Step.objects.get(instance=instance, node_id="divide")
    assert step.status == Step.Status.SKIPPED and step.output == {"share": 12}
    assert Step.objects.get(instance=instance, node_id="approve").status == Step.Status.WAITING
    event = Event.objects.get(instance=instance, kind="incident.skipped")
    assert event.data["reason"] == "Shared by hand" and event.data["output"] == {"share": 12}


def test_an_action_the_caller_may_not_do_changes_nothing(data: OpsData) -> None:
    instance = data.start("Paper", 0)
    refuse: Callable[[ProcessInstance], bool] = lambda i: False  # noqa: E731

    for act in (
        lambda: retry_incident(_incident(instance).id, actor=data.people["alice"], authorize=refuse),
        lambda: skip_incident(_incident(instance).id, actor=data.people["alice"], authorize=refuse),
        lambda: cancel_instance(instance.id, actor=data.people["alice"], authorize=refuse),
        lambda: move_token(instance.id, _incident(instance).step_id, "end", authorize=refuse),
    ):
        with pytest.raises(PermissionDenied):
            act()

    assert ProcessInstance.objects.get(id=instance.id).status == ProcessInstance.Status.RUNNING
    assert _incident(instance).resolved_at is None


def test_an_operator_cancelling_tells_the_requester_why(data: OpsData) -> None:
    instance = data.start("Lamp", 4)

    cancel_instance(instance.id, actor=data.people["owner"], reason="Bought elsewhere")

    [queued] = Outbox.objects.filter(task="approvals.send_cancelled_email")
    data.people["alice"].email = "alice@example.com"
    data.people["alice"].save()
    assert send_cancelled_email(*queued.args) == 1
    [message] = mail.outbox
    assert (
        message.to == ["alice@example.com"] and message.subject == f"[{instance.reference}] Cancelled: Lamp"
    )
    assert "Owner Example cancelled your request" in message.body and "Why: Bought elsewhere" in message.body
    assert ApprovalTask.objects.get(instance=instance).status == ApprovalTask.Status.CANCELLED


def test_a_requester_withdrawing_their_own_request_gets_no_email(data: OpsData) -> None:
    instance = data.start("Lamp", 4)

    cancel_instance(instance.id, actor=data.people["alice"], reason="No longer needed")

    assert not Outbox.objects.filter(task="approvals.send_cancelled_email").exists()


def test_moving_the_token_closes_the_waiting_approval_and_continues_at_the_target(data: OpsData) -> None:
    instance = data.start("Lamp", 4)
    waiting = Step.objects.get(instance=instance, node_id="approve")

    moved = move_token(instance.id, waiting.id, "end", actor=data.people["owner"], reason="Approved on paper")

    assert moved.status == ProcessInstance.Status.COMPLETED and moved.outcome == "approved"
    waiting.refresh_from_db()
    assert waiting.status == Step.Status.CANCELLED
    assert ApprovalTask.objects.get(instance=instance).status == ApprovalTask.Status.CANCELLED
    event = Event.objects.get(instance=instance, kind="token.moved")
    assert event.data == {"from": "approve", "to": "end", "reason": "Approved on paper"}
    assert event.actor == data.people["owner"] and "Manager approval" in event.message


def test_moving_a_failed_step_resolves_its_incident_and_runs_the_target(data: OpsData) -> None:
    instance = data.start("Paper", 0)
    incident = _incident(instance)

    move_token(instance.id, incident.step_id, "approve", actor=data.people["owner"], reason="Shares done")

    incident.refresh_from_db()
    assert incident.resolution == Incident.Resolution.MOVED and incident.resolved_by == data.people["owner"]
    instance.refresh_from_db()
    assert not instance.has_incident
    assert Step.objects.get(instance=instance, node_id="approve").status == Step.Status.WAITING


@pytest.mark.parametrize(("target", "why"), [("start", "cannot be moved"), ("nowhere", "no block")])
def test_moving_to_a_start_or_an_unknown_block_is_refused(data: OpsData, target: str, why: str) -> None:
    instance = data.start("Lamp", 4)
    waiting = Step.objects.get(instance=instance, node_id="approve")

    with pytest.raises(InvalidState, match=why):
        move_token(instance.id, waiting.id, target, actor=data.people["owner"])

    waiting.refresh_from_db()
    assert waiting.status == Step.Status.WAITING


def test_moving_a_step_that_already_moved_on_is_refused(data: OpsData) -> None:
    instance = data.start("Lamp", 4)
    waiting = Step.objects.get(instance=instance, node_id="approve")
    move_token(instance.id, waiting.id, "divide", actor=data.people["owner"])  # and back to a new approval

    with pytest.raises(InvalidState, match="moved on"):
        move_token(instance.id, waiting.id, "approve", actor=data.people["owner"])


# --- races ---------------------------------------------------------------------------------

LOST_WORKER_XML = bpmn.definitions(
    bpmn.start(),
    bpmn.service("call", properties={"url": "http://127.0.0.1:9/none"}, outputs={"answer": "result.status"}),
    bpmn.end(),
    *bpmn.chain("start", "call", "end"),
)


def _together(*actions: Callable[[], Any]) -> list[Any]:
    """Run ``actions`` at the same moment, each in its own thread and connection; their results or errors."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(n: int, act: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[n] = act()
        except Exception as exc:  # the test reads what each one got
            results[n] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, act)) for n, act in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps stay queued: the session's real worker (started by earlier tests) must not take them."""
    monkeypatch.setattr("orchestration.engine.dispatch.publish", lambda items: None)


def _lost_worker_incident(key: str) -> tuple[ProcessInstance, Step, Incident]:
    """A connector step whose worker the relay gave up (an incident); the worker is alive after all."""
    instance = start_instance(publish(LOST_WORKER_XML, key=key), {})
    step = Step.objects.get(instance=instance, node_id="call")
    claim_step(step.id, 1)
    fail_step(step.id, 1, "The worker running it stopped answering", retryable=False)
    return instance, step, _incident(instance)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round", [1, 2, 3])  # the race goes either way: each way must apply once
def test_an_operators_retry_racing_a_workers_late_result_applies_once(round: int, no_broker: None) -> None:
    instance, step, incident = _lost_worker_incident(f"lost-{round}")

    results = _together(
        lambda: retry_incident(incident.id, reason="Try again"),
        lambda: complete_step(step.id, 1, {"status": 200}),  # the late answer of attempt 1
    )

    assert not any(isinstance(r, Exception) for r in results), results
    step.refresh_from_db()
    assert step.status == Step.Status.QUEUED and step.attempt == 2
    assert Event.objects.filter(instance=instance, kind="incident.retried").count() == 1
    assert not Event.objects.filter(instance=instance, kind="step.completed", step=step).exists()
    claim_step(step.id, 2)
    complete_step(step.id, 2, {"status": 201})
    complete_step(step.id, 1, {"status": 200})  # once more, after it all: still ignored
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.variables["answer"] == 201
    assert Event.objects.filter(instance=instance, kind="step.completed", step=step).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_operators_retrying_at_once_retry_once(no_broker: None) -> None:
    instance, step, incident = _lost_worker_incident("lost")

    results = _together(
        lambda: retry_incident(incident.id, reason="first"),
        lambda: retry_incident(incident.id, reason="second"),
    )

    refused = [r for r in results if isinstance(r, InvalidState)]
    assert len(refused) == 1 and "already retried" in str(refused[0])
    step.refresh_from_db()
    assert step.attempt == 2 and Event.objects.filter(instance=instance, kind="incident.retried").count() == 1
