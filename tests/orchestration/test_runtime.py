"""The engine's runtime without a worker: inline blocks, waits, human tasks, operator actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from approvals.actions import TaskAlreadyDecided, complete_task
from approvals.models import ApprovalTask
from orchestration.engine import (
    REQUEST_INLINE_BLOCKS,
    InvalidState,
    NoSubscription,
    StartDataError,
    cancel_instance,
    correlate_message,
    retry_incident,
    skip_incident,
    start_instance,
)
from orchestration.engine.dispatch import relay_outbox
from orchestration.engine.runtime import continue_handed_off
from orchestration.engine.timers import fire_due_timers
from orchestration.models import Event, Incident, MessageSubscription, Outbox, ProcessInstance, Step, Timer
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

AMOUNT_FORM = (bpmn.field("amount", "number", required=True, min="0"), bpmn.field("item", required=True))


def _decision_flow() -> str:
    return bpmn.definitions(
        bpmn.start("start", *AMOUNT_FORM),
        bpmn.gateway("big", default="f_small", name="Big amount?"),
        bpmn.script("mark_big", '{"size": "big"}'),
        bpmn.script("mark_small", '{"size": "small", "twice": amount * 2.0}'),
        bpmn.end("end_big", outcome="big"),
        bpmn.end("end_small", outcome="small"),
        bpmn.flow("start", "big"),
        bpmn.flow("big", "mark_big", id="f_big", condition="amount > 1000.0"),
        bpmn.flow("big", "mark_small", id="f_small"),
        bpmn.flow("mark_big", "end_big"),
        bpmn.flow("mark_small", "end_small"),
    )


def test_inline_blocks_complete_the_instance_in_the_start_transaction() -> None:
    version = publish(_decision_flow(), key="decide")

    instance = start_instance(version, {"amount": 150, "item": "chair"})

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.outcome == "small"
    assert instance.variables == {"amount": 150.0, "item": "chair", "size": "small", "twice": 300.0}
    assert list(instance.steps.values_list("node_id", flat=True)) == [
        "start",
        "big",
        "mark_small",
        "end_small",
    ]
    assert instance.steps.get(node_id="big").output == {"flow": "f_small"}


def test_decision_follows_the_condition_that_holds() -> None:
    version = publish(_decision_flow(), key="decide")

    instance = start_instance(version, {"amount": "5000", "item": "laptop"})

    assert instance.outcome == "big"
    assert instance.variables["size"] == "big"


def test_start_data_is_checked_against_the_form_naming_each_field() -> None:
    version = publish(_decision_flow(), key="decide")

    with pytest.raises(StartDataError) as caught:
        start_instance(version, {"amount": "lots", "colour": "red"})

    assert caught.value.errors == {
        "colour": ["Not a field of this workflow's start form."],
        "amount": ["Enter a number."],
        "item": ["This field is required."],
    }
    assert not ProcessInstance.objects.exists()


def test_history_records_start_data_changes_and_completion() -> None:
    version = publish(_decision_flow(), key="decide")

    instance = start_instance(version, {"amount": 10, "item": "pen"})

    kinds = list(Event.objects.filter(instance=instance).values_list("kind", flat=True))
    assert kinds == ["instance.started", "variables.set", "instance.completed"]
    assert Event.objects.get(instance=instance, kind="instance.started").message == (
        "Started on version 1 through the API"
    )
    change = Event.objects.get(instance=instance, kind="variables.set")
    assert change.data["changes"]["size"] == {"old": None, "new": "small"}


def test_events_are_append_only() -> None:
    version = publish(_decision_flow(), key="decide")
    event = Event.objects.filter(instance=start_instance(version, {"amount": 1, "item": "x"})).first()
    event.message = "rewritten"

    with pytest.raises(Exception, match="append-only"):
        event.save()


def test_failing_expression_becomes_an_incident_that_can_be_retried_after_a_fix() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("count", "integer", required=True)),
        bpmn.script("divide", '{"share": 100 / count}'),
        bpmn.end(),
        *bpmn.chain("start", "divide", "end"),
    )
    version = publish(xml, key="divide")

    instance = start_instance(version, {"count": 0})

    assert instance.status == ProcessInstance.Status.RUNNING and instance.has_incident
    incident = Incident.objects.get(instance=instance)
    assert incident.step.node_id == "divide" and "divide by zero" in incident.error

    instance = retry_incident(incident.id, variables={"count": 4})

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["share"] == 25
    assert not instance.has_incident


def test_skipping_an_incident_moves_on_with_the_given_data() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("count", "integer", required=True)),
        bpmn.script("divide", '{"share": 100 / count}'),
        bpmn.end(),
        *bpmn.chain("start", "divide", "end"),
    )
    instance = start_instance(publish(xml, key="divide"), {"count": 0})
    incident = Incident.objects.get(instance=instance)

    instance = skip_incident(incident.id, variables={"share": 0})

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["share"] == 0
    assert instance.steps.get(node_id="divide").status == Step.Status.SKIPPED
    with pytest.raises(InvalidState):
        retry_incident(incident.id)


def _parallel_inline() -> str:
    return bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("split", "parallel"),
        bpmn.script("a", '{"a": 1}'),
        bpmn.script("b", '{"b": 2}'),
        bpmn.gateway("join", "parallel"),
        bpmn.end(),
        bpmn.flow("start", "split"),
        bpmn.flow("split", "a"),
        bpmn.flow("split", "b"),
        bpmn.flow("a", "join"),
        bpmn.flow("b", "join"),
        bpmn.flow("join", "end"),
    )


def test_parallel_join_waits_for_every_branch_and_fires_once() -> None:
    instance = start_instance(publish(_parallel_inline(), key="par"), {})

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables == {"a": 1, "b": 2}
    join_steps = instance.steps.filter(node_id="join")
    assert join_steps.count() == 2
    assert join_steps.filter(join_key__isnull=False).count() == 1
    assert instance.steps.filter(node_id="end").count() == 1


def test_a_loop_handed_off_by_a_request_is_stopped_by_the_loop_guard_on_the_worker(monkeypatch) -> None:
    monkeypatch.setattr("orchestration.engine.runtime.MAX_INLINE_STEPS", 500)  # the guard, sooner
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.script("again", '{"done": true}'),
        bpmn.gateway("more", default="f_out"),
        bpmn.end(),
        bpmn.flow("start", "again"),
        bpmn.flow("again", "more"),
        bpmn.flow("more", "again", id="f_back", condition="true"),
        bpmn.flow("more", "end", id="f_out"),
    )
    instance = start_instance(publish(xml), {}, hand_off_after=REQUEST_INLINE_BLOCKS)
    assert Step.objects.filter(instance=instance).count() == REQUEST_INLINE_BLOCKS + 1  # one handed off

    continue_handed_off(instance.id)

    instance.refresh_from_db()
    [incident] = Incident.objects.filter(instance=instance)
    assert incident.error == "More than 500 blocks ran without waiting: is there a loop?"
    assert instance.status == ProcessInstance.Status.RUNNING and instance.has_incident
    assert Step.objects.filter(instance=instance).count() == REQUEST_INLINE_BLOCKS + 500 + 1


def test_tokens_handed_off_on_parallel_branches_join_once_on_the_worker() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("split", "parallel"),
        *[bpmn.script(i, '{"done": true}') for i in ("a1", "a2", "b1", "b2")],
        bpmn.gateway("join", "parallel"),
        bpmn.end(),
        bpmn.flow("start", "split"),
        *bpmn.chain("split", "a1", "a2", "join"),
        *bpmn.chain("split", "b1", "b2", "join"),
        bpmn.flow("join", "end"),
    )
    instance = start_instance(publish(xml), {}, hand_off_after=3)
    assert set(
        Step.objects.filter(instance=instance, status=Step.Status.ACTIVE).values_list("node_id", flat=True)
    ) == {"a2", "b1"}

    continue_handed_off(instance.id)
    continue_handed_off(instance.id)  # a second delivery of the message finds nothing left

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert Step.objects.filter(instance=instance, node_id="end").count() == 1
    assert not Step.objects.filter(instance=instance, status=Step.Status.ACTIVE).exists()


def test_wait_timer_resumes_when_the_ticker_finds_it_due() -> None:
    xml = bpmn.definitions(
        bpmn.start(), bpmn.wait_timer("pause", "PT1H"), bpmn.end(), *bpmn.chain("start", "pause", "end")
    )
    instance = start_instance(publish(xml, key="pause"), {})
    timer = Timer.objects.get(instance=instance)
    assert instance.status == ProcessInstance.Status.RUNNING
    assert timedelta(minutes=59) < timer.due_at - timezone.now() <= timedelta(hours=1)

    assert fire_due_timers() == 0
    assert fire_due_timers(now=timer.due_at + timedelta(seconds=1)) == 1

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert fire_due_timers(now=timer.due_at + timedelta(seconds=2)) == 0


def _message_flow() -> str:
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("order", required=True)),
        bpmn.wait_message("paid", "payment", "order"),
        bpmn.end(),
        *bpmn.chain("start", "paid", "end"),
        messages=("payment",),
    )


def test_message_with_the_correlation_key_resumes_only_that_instance() -> None:
    version = publish(_message_flow(), key="pay")
    first = start_instance(version, {"order": "A-1"})
    second = start_instance(version, {"order": "B-2"})

    resumed = correlate_message("payment", "B-2", {"paid_amount": 12.5})

    assert resumed.id == second.id
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.status == ProcessInstance.Status.COMPLETED and second.variables["paid_amount"] == 12.5
    assert first.status == ProcessInstance.Status.RUNNING
    with pytest.raises(NoSubscription):
        correlate_message("payment", "B-2")


def test_message_start_event_starts_a_new_instance() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", message="order_received"),
        bpmn.end(),
        bpmn.flow("start", "end"),
        messages=("order_received",),
    )
    version = publish(xml, key="on-order")

    instance = correlate_message("order_received", "K-9", {"sku": "X"})

    assert instance.version == version and instance.trigger == "message"
    assert instance.business_key == "K-9" and instance.status == ProcessInstance.Status.COMPLETED


def test_schedule_start_event_starts_instances_on_its_cron() -> None:
    xml = bpmn.definitions(bpmn.start("start", cron="0 9 * * 1"), bpmn.end(), bpmn.flow("start", "end"))
    version = publish(xml, key="weekly")
    timer = Timer.objects.get(version=version, kind=Timer.Kind.SCHEDULE)
    assert timer.due_at.weekday() == 0 and timer.due_at.hour == 9

    assert fire_due_timers(now=timer.due_at) == 1

    assert ProcessInstance.objects.filter(version=version, trigger="timer").count() == 1
    following = Timer.objects.get(version=version, fired_at__isnull=True)
    assert following.due_at - timer.due_at == timedelta(days=7)


def _approval_flow() -> str:
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("item", required=True)),
        bpmn.user_task("approve", name="Approve purchase", groups="Finance"),
        bpmn.gateway("ok", default="f_no"),
        bpmn.end("yes", outcome="approved"),
        bpmn.end("no", outcome="rejected"),
        bpmn.flow("start", "approve"),
        bpmn.flow("approve", "ok"),
        bpmn.flow("ok", "yes", id="f_yes", condition='approval.outcome == "approved"'),
        bpmn.flow("ok", "no", id="f_no"),
    )


@pytest.fixture
def people() -> dict[str, object]:
    users = get_user_model()
    finance = Group.objects.create(name="Finance")
    alice = users.objects.create_user("alice")
    bob = users.objects.create_user("bob")
    carol = users.objects.create_user("carol")
    alice.groups.add(finance)
    bob.groups.add(finance)
    return {"alice": alice, "bob": bob, "carol": carol}


def test_human_task_decision_resumes_the_process_and_a_second_decision_is_refused(people: dict) -> None:
    instance = start_instance(
        publish(_approval_flow(), key="approve"), {"item": "desk"}, initiator=people["carol"]
    )
    task = ApprovalTask.objects.get(instance=instance)
    assert task.candidate_group.name == "Finance" and task.status == ApprovalTask.Status.OPEN

    complete_task(task.id, people["alice"], "approved", comment="fine")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "approved"
    assert instance.variables["approval"] == {"outcome": "approved", "comment": "fine", "by": "alice"}
    with pytest.raises(TaskAlreadyDecided, match="alice"):
        complete_task(task.id, people["bob"], "rejected", comment="no")


def test_cancel_closes_tasks_timers_and_subscriptions(people: dict) -> None:
    instance = start_instance(
        publish(_approval_flow(), key="approve"), {"item": "desk"}, initiator=people["carol"]
    )

    cancel_instance(instance.id, actor=people["carol"], reason="Bought it myself")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.CANCELLED
    assert ApprovalTask.objects.get(instance=instance).status == ApprovalTask.Status.CANCELLED
    assert not instance.steps.filter(status__in=Step.OPEN_STATUSES).exists()
    assert Event.objects.filter(instance=instance, kind="instance.cancelled", actor=people["carol"]).exists()
    with pytest.raises(InvalidState):
        cancel_instance(instance.id)


def test_call_activity_runs_a_child_instance_and_maps_its_result() -> None:
    child = bpmn.definitions(
        bpmn.start("start", bpmn.field("n", "integer", required=True)),
        bpmn.script("square", '{"sq": n * n}'),
        bpmn.end(),
        *bpmn.chain("start", "square", "end"),
    )
    publish(child, key="square")
    parent = bpmn.definitions(
        bpmn.start(),
        bpmn.call("sub", "square", inputs={"n": "7"}, outputs={"result_sq": "result.sq"}),
        bpmn.end(),
        *bpmn.chain("start", "sub", "end"),
    )

    instance = start_instance(publish(parent, key="parent"), {})

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["result_sq"] == 49
    assert ProcessInstance.objects.get(parent_step__instance=instance).variables["sq"] == 49


def test_connector_step_is_queued_with_an_outbox_row_the_relay_republishes() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.service("call", properties={"url": "http://127.0.0.1:9/none"}),
        bpmn.end(),
        *bpmn.chain("start", "call", "end"),
    )
    instance = start_instance(publish(xml, key="queued"), {})
    step = instance.steps.get(node_id="call")
    outbox = Outbox.objects.get(step=step)
    assert step.status == Step.Status.QUEUED and step.attempt == 1 and outbox.attempt == 1

    assert relay_outbox(now=outbox.republish_at - timedelta(seconds=1)) == 0

    from orchestration.celery import app

    with app.connection_for_write() as conn:  # the relay talks to the real broker
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    assert relay_outbox(now=outbox.republish_at) == 1
    outbox.refresh_from_db()
    assert outbox.publish_count == 1 and outbox.republish_at > timezone.now()


def test_message_subscription_is_removed_when_consumed() -> None:
    version = publish(_message_flow(), key="pay")
    start_instance(version, {"order": "A-1"})
    assert MessageSubscription.objects.filter(instance__isnull=False).count() == 1

    correlate_message("payment", "A-1")

    assert MessageSubscription.objects.filter(instance__isnull=False).count() == 0


def test_approval_due_date_and_reminder_timers_are_cancelled_by_the_decision(people: dict) -> None:
    xml = bpmn.definitions(
        bpmn.start("start"),
        '<bpmn:userTask id="approve" name="Approve" baton:candidateGroups="Finance" baton:dueIn="P2D" baton:reminderIn="P1D"/>',
        bpmn.end(),
        *bpmn.chain("start", "approve", "end"),
    )
    instance = start_instance(publish(xml, key="due"), {}, initiator=people["carol"])
    task = ApprovalTask.objects.get(instance=instance)
    timers = {t.kind: t for t in Timer.objects.filter(step=task.step)}
    assert set(timers) == {Timer.Kind.DUE, Timer.Kind.REMINDER}
    assert task.due_at == timers[Timer.Kind.DUE].due_at
    assert timedelta(days=1, hours=23) < task.due_at - timezone.now() <= timedelta(days=2)

    fire_due_timers(now=timers[Timer.Kind.REMINDER].due_at)
    assert Event.objects.filter(instance=instance, kind="task.reminder").exists()
    complete_task(task.id, people["alice"], "approved")

    assert not Timer.objects.filter(step=task.step, fired_at__isnull=True, cancelled_at__isnull=True).exists()


def _parent_calling_a_waiting_child(output: str = "result.n") -> ProcessInstance:
    child = bpmn.definitions(
        bpmn.start("start", bpmn.field("n", "integer", required=True)),
        bpmn.wait_timer("pause", "PT1H"),
        bpmn.end(),
        *bpmn.chain("start", "pause", "end"),
    )
    publish(child, key="slow-child")
    parent = bpmn.definitions(
        bpmn.start(),
        bpmn.call("sub", "slow-child", inputs={"n": "3"}, outputs={"got": output}),
        bpmn.end(),
        *bpmn.chain("start", "sub", "end"),
    )
    return start_instance(publish(parent, key="parent"), {})


def test_cancelling_a_child_instance_turns_the_parents_call_into_an_incident() -> None:
    parent = _parent_calling_a_waiting_child()
    child = ProcessInstance.objects.get(parent_step__instance=parent)

    cancel_instance(child.id, reason="Not needed")
    fire_due_timers()

    parent.refresh_from_db()
    assert parent.status == ProcessInstance.Status.RUNNING and parent.has_incident
    incident = Incident.objects.get(instance=parent)
    assert incident.step.node_id == "sub" and "cancelled" in incident.error


def test_a_sub_process_result_that_cannot_be_mapped_becomes_an_incident_not_a_stuck_timer() -> None:
    parent = _parent_calling_a_waiting_child(output="result.missing")
    child = ProcessInstance.objects.get(parent_step__instance=parent)
    child_timer = Timer.objects.get(instance=child)

    fire_due_timers(now=child_timer.due_at)  # the child finishes and schedules the parent's wake-up
    fire_due_timers(now=child_timer.due_at)

    assert Incident.objects.filter(instance=parent, step__node_id="sub").exists()
    assert not Timer.objects.filter(fired_at__isnull=True, cancelled_at__isnull=True).exists()


def test_a_loop_that_never_waits_becomes_an_incident_instead_of_failing_the_start() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("again", default="f_out"),
        bpmn.script("bump", '{"n": 1}'),
        bpmn.end(),
        bpmn.flow("start", "again"),
        bpmn.flow("again", "bump", id="f_loop", condition="true"),
        bpmn.flow("again", "end", id="f_out"),
        bpmn.flow("bump", "again"),
    )

    instance = start_instance(publish(xml, key="spin"), {})

    assert instance.status == ProcessInstance.Status.RUNNING and instance.has_incident
    assert "loop" in Incident.objects.get(instance=instance).error


def test_a_step_whose_worker_stopped_answering_is_retried_as_a_new_attempt() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.service("call", properties={"url": "http://127.0.0.1:9/none"}, retries=1),
        bpmn.end(),
        *bpmn.chain("start", "call", "end"),
    )
    instance = start_instance(publish(xml, key="lost-worker"), {})
    step = instance.steps.get(node_id="call")
    from orchestration.engine.worker import claim_step

    assert claim_step(step.id, 1) is not None  # a worker took it ... and died
    step.refresh_from_db()

    relay_outbox(now=step.lease_until + timedelta(seconds=1))

    step.refresh_from_db()
    assert step.status == Step.Status.RETRY_WAIT and "lease expired" in step.error
    retry = Timer.objects.get(step=step, kind=Timer.Kind.RETRY)
    fire_due_timers(now=retry.due_at)
    step.refresh_from_db()
    assert step.status == Step.Status.QUEUED and step.attempt == 2
    assert claim_step(step.id, 2) is not None
    step.refresh_from_db()

    relay_outbox(now=step.lease_until + timedelta(seconds=1))  # the second worker dies too

    step.refresh_from_db()
    assert step.status == Step.Status.INCIDENT
    assert claim_step(step.id, 2) is None


def test_retrying_an_output_mapping_incident_maps_the_stored_output_without_running_the_connector() -> None:
    from orchestration.engine.worker import claim_step, complete_step

    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("key", required=True)),
        bpmn.service(
            "call", properties={"url": "http://127.0.0.1:9/none"}, outputs={"order_id": "result.body[key]"}
        ),
        bpmn.end(),
        *bpmn.chain("start", "call", "end"),
    )
    instance = start_instance(publish(xml, key="mapping"), {"key": "wrong"})
    step = instance.steps.get(node_id="call")
    assert claim_step(step.id, 1) is not None
    complete_step(step.id, 1, {"status": 201, "body": {"id": "PO-7"}})  # the connector's answer

    incident = Incident.objects.get(instance=instance)
    assert incident.cause == Incident.Cause.OUTPUT_MAPPING
    step.refresh_from_db()
    assert (step.status, step.attempt) == (Step.Status.INCIDENT, 1)

    retry_incident(incident.id, variables={"key": "id"})

    instance.refresh_from_db()
    step.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["order_id"] == "PO-7"
    assert step.attempt == 1  # not queued for a worker again: the order is not placed twice
    assert not Outbox.objects.filter(step=step).exists()
