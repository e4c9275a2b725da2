"""The ticker's work: fire due timers, one transaction each, and keep schedules going."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from orchestration.engine import boundaries
from orchestration.engine.blocks import block_for
from orchestration.engine.blocks.base import BlockError
from orchestration.engine.blocks.start import schedule_of
from orchestration.engine.dispatch import queue_for_worker
from orchestration.engine.runtime import (
    StartDataError,
    drive_tokens,
    lock_step,
    locked_run,
    raise_incident,
    start_instance,
)
from orchestration.models import Event, ProcessInstance, Step, Timer, WorkflowVersion

logger = logging.getLogger(__name__)

TIMER_BATCH = 500


def schedule_version(version: WorkflowVersion, now: datetime | None = None) -> None:
    """Create the first timer of every scheduled Start of a just-published version.

    A schedule whose moments are all past (a date gone by) gets none: it never starts a request.
    """
    now = now or timezone.now()
    graph = version.graph or {"start_nodes": []}
    for node_id in graph["start_nodes"]:
        spec = schedule_of(graph["nodes"][node_id]["config"])
        due = spec.first_due(now) if spec is not None else None
        if due is not None and due >= now:
            Timer.objects.create(
                kind=Timer.Kind.SCHEDULE,
                due_at=due,
                version=version,
                payload={"node_id": node_id, "fired": 0},
            )


def fire_due_timers(now: datetime | None = None) -> int:
    """Fire every timer due by ``now``; returns how many fired. Safe to run in several processes."""
    now = now or timezone.now()
    due = list(
        Timer.objects.filter(fired_at__isnull=True, cancelled_at__isnull=True, due_at__lte=now)
        .order_by("due_at")
        .values_list("id", "instance_id")[:TIMER_BATCH]
    )
    fired = 0
    for timer_id, instance_id in due:
        try:
            fired += _fire(timer_id, instance_id, now)
        except Exception:
            logger.exception("Timer %s failed to fire; it stays due", timer_id)
    return fired


def _claim(timer_id: int) -> Timer | None:
    return (
        Timer.objects.select_for_update(skip_locked=True)
        .filter(id=timer_id, fired_at__isnull=True, cancelled_at__isnull=True)
        .first()
    )


def _fire(timer_id: int, instance_id: Any, now: datetime) -> int:
    if instance_id is None:
        return _fire_schedule(timer_id, now)
    # Lock order: instance first, then the timer (cancel_instance takes them in that order too).
    with locked_run(instance_id, actor_label="timer") as run:
        timer = _claim(timer_id)
        if timer is None:
            return 0
        timer.fired_at = now
        timer.save(update_fields=["fired_at"])
        if run.instance.status != ProcessInstance.Status.RUNNING or timer.step_id is None:
            return 1
        step = lock_step(run, timer.step_id)
        if timer.kind == Timer.Kind.RETRY:
            if step.status == Step.Status.RETRY_WAIT:
                queue_for_worker(run, step, attempt=int(timer.payload["attempt"]))
        elif timer.kind == Timer.Kind.BOUNDARY:
            if step.is_open:
                try:
                    with transaction.atomic():
                        drive_tokens(run, boundaries.fire_timer(run, step, timer))
                except BlockError as exc:
                    raise_incident(run, step, str(exc))
        elif step.status == Step.Status.WAITING:
            payload = {**timer.payload, "timer_id": timer.id, "kind": timer.kind}
            try:
                with transaction.atomic():
                    block_for(step.kind).on_timer(run, step, payload)
            except BlockError as exc:
                # The timer is spent either way; the step waits for an operator instead.
                raise_incident(run, step, str(exc))
    return 1


def _fire_schedule(timer_id: int, now: datetime) -> int:
    with transaction.atomic():
        timer = _claim(timer_id)
        if timer is None:
            return 0
        timer.fired_at = now
        timer.save(update_fields=["fired_at"])
        version = timer.version
        if version is None or version.status != WorkflowVersion.Status.PUBLISHED or not version.graph:
            return 1
        node_id = timer.payload["node_id"]
        spec = schedule_of(version.graph["nodes"][node_id]["config"])
        # Timers from before repetitions were counted hold no "fired": they were cron, which has no end.
        fired = int(timer.payload.get("fired", 0)) + 1
        due, fired = spec.following(timer.due_at, fired, now) if spec is not None else (None, fired)
        if due is not None:
            Timer.objects.create(
                kind=Timer.Kind.SCHEDULE,
                due_at=due,
                version=version,
                payload={"node_id": node_id, "fired": fired},
            )
        try:
            with transaction.atomic():
                start_instance(version, {}, trigger="timer", start_node=node_id, actor_label="schedule")
        except StartDataError as exc:
            Event.objects.create(
                workflow=version.workflow,
                kind="schedule.failed",
                actor_label="schedule",
                message=f"Scheduled start of v{version.number} refused: {exc}"[:500],
                data={"errors": exc.errors},
            )
    return 1
