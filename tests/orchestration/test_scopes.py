"""cancel_steps: a cancelled step takes the steps inside it, and everything attached to them, along."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orchestration.engine import move_token, start_instance
from orchestration.engine.runtime import locked_run
from orchestration.engine.scopes import cancel_steps
from orchestration.models import Event, MessageSubscription, Step, Timer
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _waiting() -> tuple[object, Step]:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.wait_timer("outer", "P1D", name="Outer wait"),
        bpmn.script("after", '{"went_on": true}'),
        bpmn.end(),
        *bpmn.chain("start", "outer", "after", "end"),
    )
    instance = start_instance(publish(xml, key="scopes"), {})
    return instance, Step.objects.get(instance=instance, node_id="outer")


def _inside(outer: Step, node_id: str) -> Step:
    """A step running inside ``outer`` (as a Group's would), waiting on a timer and a message."""
    step = Step.objects.create(
        instance=outer.instance, node_id=node_id, kind="timer_catch", status=Step.Status.WAITING, scope=outer
    )
    Timer.objects.create(
        kind=Timer.Kind.WAIT, due_at=timezone.now() + timedelta(days=1), instance=outer.instance, step=step
    )
    MessageSubscription.objects.create(
        message_name="m", correlation_key="k", instance=outer.instance, step=step, node_id=node_id
    )
    return step


def test_cancelling_a_step_cancels_the_steps_inside_it_at_every_depth() -> None:
    instance, outer = _waiting()
    inner = _inside(outer, "inner")
    innermost = _inside(inner, "innermost")

    with locked_run(instance.id) as run:  # type: ignore[attr-defined]
        children = cancel_steps(run, [outer], reason="Deadline passed")

    assert children == []
    for step in (outer, inner, innermost):
        step.refresh_from_db()
        assert step.status == Step.Status.CANCELLED and step.ended_at is not None
    assert not Timer.objects.filter(instance=instance, cancelled_at__isnull=True).exists()
    assert not MessageSubscription.objects.filter(instance=instance).exists()
    event = Event.objects.get(instance=instance, kind="steps.cancelled")
    assert event.message == "Stopped Outer wait, inner, innermost: Deadline passed"


def test_moving_a_token_closes_what_runs_inside_the_step_it_leaves() -> None:
    instance, outer = _waiting()
    inner = _inside(outer, "inner")

    move_token(instance.id, outer.id, "after", reason="No need to wait")  # type: ignore[attr-defined]

    inner.refresh_from_db()
    assert inner.status == Step.Status.CANCELLED
    assert not MessageSubscription.objects.filter(step=inner).exists()
    assert Step.objects.get(instance=instance, node_id="after").status == Step.Status.COMPLETED
