"""First event wins (event-based gateway): the first Wait's event picks the path, the others are cancelled."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from orchestration.bpmn.compiler import compile_bpmn
from orchestration.engine import (
    NoSubscription,
    cancel_instance,
    correlate_message,
    move_token,
    start_instance,
)
from orchestration.engine.timers import fire_due_timers
from orchestration.models import Event, MessageSubscription, ProcessInstance, Step, Timer
from tests import bpmn
from tests.conftest import wait_for
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _race(after_wait: str = "") -> str:
    """Order → first of (payment message, 2-day timer) → paid / reminded."""
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("order", required=True)),
        bpmn.gateway("race", kind="eventBased", name="Paid in time?"),
        bpmn.wait_message("paid", "payment", "order", name="Payment arrives"),
        bpmn.wait_timer("late", "P2D", name="Two days pass"),
        bpmn.script("mark_paid", '{"state": "paid"}'),
        bpmn.script("mark_late", '{"state": "late"}'),
        bpmn.end("end_paid", outcome="paid"),
        bpmn.end("end_late", outcome="late"),
        *bpmn.chain("start", "race"),
        *bpmn.chain("race", "paid", "mark_paid", "end_paid"),
        *bpmn.chain("race", "late", "mark_late", "end_late"),
        messages=("payment",),
    )


def _started(order: str = "A-1") -> ProcessInstance:
    return start_instance(publish(_race(), key="race"), {"order": order})


def test_entering_arms_every_wait_on_the_gateways_step() -> None:
    instance = _started()

    step = Step.objects.get(instance=instance, node_id="race")
    assert step.status == Step.Status.WAITING
    timer = Timer.objects.get(step=step)
    assert timer.kind == Timer.Kind.WAIT and timer.payload == {"target": "late"}
    assert timer.due_at - step.started_at == pytest.approx(timedelta(days=2), abs=timedelta(seconds=5))
    subscription = MessageSubscription.objects.get(step=step)
    assert (subscription.message_name, subscription.correlation_key, subscription.node_id) == (
        "payment",
        "A-1",
        "paid",
    )
    # The Waits themselves have no step yet: nothing waits twice.
    assert not Step.objects.filter(instance=instance, node_id__in=["paid", "late"]).exists()


def test_message_first_cancels_the_timer_and_takes_its_path_with_the_message_data() -> None:
    instance = _started()
    timer = Timer.objects.get(instance=instance)

    correlate_message("payment", "A-1", {"amount_paid": 12.5})

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "paid"
    assert instance.variables["amount_paid"] == 12.5 and instance.variables["state"] == "paid"
    timer.refresh_from_db()
    assert timer.cancelled_at is not None and timer.fired_at is None
    caught = Step.objects.get(instance=instance, node_id="paid")
    assert caught.status == Step.Status.COMPLETED and caught.output == {"amount_paid": 12.5}
    assert caught.incoming_flow == "f_race_paid"
    assert not Step.objects.filter(instance=instance, node_id__in=["late", "mark_late"]).exists()
    won = Event.objects.get(instance=instance, kind="event_gateway.won")
    assert won.message == "Message 'payment' received for 'A-1' first; the wait of 2 days was cancelled"
    assert fire_due_timers(now=timer.due_at + timedelta(seconds=1)) == 0


def test_timer_first_removes_the_subscription_so_a_late_message_finds_nothing_waiting() -> None:
    instance = _started()
    timer = Timer.objects.get(instance=instance)

    assert fire_due_timers(now=timer.due_at) == 1

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "late"
    assert not MessageSubscription.objects.filter(instance=instance).exists()
    assert Step.objects.get(instance=instance, node_id="late").status == Step.Status.COMPLETED
    won = Event.objects.get(instance=instance, kind="event_gateway.won")
    assert won.message == "The wait of 2 days ended first; the wait for message 'payment' was cancelled"
    with pytest.raises(NoSubscription, match="No process waits for message 'payment'"):
        correlate_message("payment", "A-1", {"amount_paid": 1.0})


def test_the_key_picks_the_instance_and_the_others_keep_waiting() -> None:
    version = publish(_race(), key="race")
    first, second = (start_instance(version, {"order": order}) for order in ("A-1", "B-2"))

    correlate_message("payment", "B-2")

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == ProcessInstance.Status.RUNNING
    assert second.status == ProcessInstance.Status.COMPLETED
    assert Timer.objects.filter(instance=first, cancelled_at__isnull=True).count() == 1


def test_cancelling_the_instance_closes_the_gateways_timer_and_subscription() -> None:
    instance = _started()

    cancel_instance(instance.id, reason="Order withdrawn")

    assert Timer.objects.get(instance=instance).cancelled_at is not None
    assert not MessageSubscription.objects.filter(instance=instance).exists()
    assert Step.objects.get(instance=instance, node_id="race").status == Step.Status.CANCELLED


def test_moving_the_token_away_closes_the_gateways_timer_and_subscription() -> None:
    instance = _started()
    step = Step.objects.get(instance=instance, node_id="race")

    move_token(instance.id, step.id, "mark_late", reason="Customer called")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "late"
    assert Timer.objects.get(step=step).cancelled_at is not None
    assert not MessageSubscription.objects.filter(step=step).exists()


@pytest.mark.django_db(transaction=True)
def test_a_message_and_the_timer_at_once_advance_the_process_once() -> None:
    instance = _started()
    timer = Timer.objects.get(instance=instance)
    outcomes: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def deliver() -> None:
        barrier.wait()
        try:
            outcomes["message"] = correlate_message("payment", "A-1", {"amount_paid": 3.0}).id
        except NoSubscription as exc:
            outcomes["message"] = exc
        finally:
            connection.close()

    def tick() -> None:
        barrier.wait()
        try:
            outcomes["timer"] = fire_due_timers(now=timer.due_at)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver), threading.Thread(target=tick)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    wait_for(lambda: len(outcomes) == 2)

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    caught = list(Step.objects.filter(instance=instance, node_id__in=["paid", "late"]))
    assert len(caught) == 1, caught
    assert Event.objects.filter(instance=instance, kind="event_gateway.won").count() == 1
    assert Event.objects.filter(instance=instance, kind="instance.completed").count() == 1
    if caught[0].node_id == "paid":
        assert instance.outcome == "paid" and outcomes["timer"] == 0
    else:
        assert instance.outcome == "late" and isinstance(outcomes["message"], NoSubscription)


# --- compile-time refusals


def _with_after(block: str, after_id: str, messages: tuple[str, ...] = ("payment",)) -> list[str]:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("race", kind="eventBased", name="Race"),
        bpmn.wait_message("paid", "payment", "instance_id"),
        block,
        bpmn.end(),
        bpmn.end("end2"),
        *bpmn.chain("start", "race", "paid", "end"),
        *bpmn.chain("race", after_id, "end2"),
        messages=messages,
    )
    result = compile_bpmn(xml)
    assert not result.ok
    return [str(e) for e in result.errors]


def test_only_waits_may_follow_and_the_error_names_the_block() -> None:
    errors = _with_after(bpmn.user_task("approve", name="Approve", assignee="bob"), "approve")
    assert errors == [
        'First event wins "Race" (race): after "First event wins" only Waits (for a message or for time) '
        'can follow; "Approve" (approve) is an Approval.'
    ]


def test_a_decision_after_it_is_refused_too() -> None:
    errors = _with_after(bpmn.gateway("choose", default="f_choose_end2", name="Choose"), "choose")
    assert any('"Choose" (choose) is a Decision' in e for e in errors), errors


def test_it_needs_two_paths() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("race", kind="eventBased", name="Race"),
        bpmn.wait_timer("late", "P1D"),
        bpmn.end(),
        *bpmn.chain("start", "race", "late", "end"),
    )
    errors = [str(e) for e in compile_bpmn(xml).errors]
    assert errors == [
        'First event wins "Race" (race): needs at least two paths, each to a Wait: '
        "the first event to happen picks one."
    ]


def test_a_condition_on_its_paths_is_refused() -> None:
    xml = _race().replace(
        'sourceRef="race" targetRef="late"/>',
        'sourceRef="race" targetRef="late"><bpmn:conditionExpression>true</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>",
    )
    errors = [str(e) for e in compile_bpmn(xml).errors]
    assert errors == [
        "Flow (f_race_late): has a condition, but only flows leaving a Decision or Any of these paths can have one "
        '(it leaves First event wins "Paid in time?" (race)).'
    ]


def test_a_gateway_that_starts_the_process_is_refused() -> None:
    xml = _race().replace(
        '<bpmn:eventBasedGateway id="race"', '<bpmn:eventBasedGateway instantiate="true" id="race"'
    )
    errors = [str(e) for e in compile_bpmn(xml).errors]
    assert errors == [
        'First event wins "Paid in time?" (race): starts the process; use a Start for each event instead.'
    ]


# --- a file drawn in bpmn.io


FILES = Path(__file__).parent / "bpmn_files"


def test_a_bpmnio_file_races_a_message_and_a_timer_and_the_timer_stops_everything() -> None:
    version = publish((FILES / "bpmnio_first_event_wins.bpmn").read_text(), key="chase")
    graph = version.graph
    assert graph["nodes"]["Gateway_paid_in_time"]["kind"] == "event_gateway"
    assert graph["nodes"]["Event_written_off"]["kind"] == "terminate_end"
    paid = start_instance(version, {"invoice": "INV-1"})
    unpaid = start_instance(version, {"invoice": "INV-2"})

    correlate_message("payment", "INV-1", {"paid_on": "2026-12-01"})
    assert fire_due_timers(now=Timer.objects.get(instance=unpaid).due_at) == 1

    paid.refresh_from_db()
    unpaid.refresh_from_db()
    assert (paid.status, paid.outcome) == (ProcessInstance.Status.COMPLETED, "paid")
    assert paid.variables["paid_on"] == "2026-12-01"
    assert (unpaid.status, unpaid.outcome) == (ProcessInstance.Status.COMPLETED, "written_off")
    won = Event.objects.get(instance=unpaid, kind="event_gateway.won").message
    assert won == "The wait of 2 weeks ended first; the wait for message 'payment' was cancelled"


def test_a_message_for_a_wait_the_gateway_no_longer_leads_to_stops_it_with_an_incident() -> None:
    instance = _started()
    MessageSubscription.objects.filter(instance=instance).update(node_id="renamed")  # as after a bad move

    correlate_message("payment", "A-1")

    step = Step.objects.get(instance=instance, node_id="race")
    assert step.status == Step.Status.INCIDENT
    assert step.error == "Paid in time? has no path to 'renamed'."
