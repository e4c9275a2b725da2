"""Operator actions on running instances: cancel, retry or skip an incident."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestration.engine.blocks import block_for
from orchestration.engine.blocks.base import BlockError
from orchestration.engine.context import Run
from orchestration.engine.dispatch import queue_for_worker
from orchestration.engine.human import provider
from orchestration.engine.runtime import InvalidState, drive, locked_run
from orchestration.engine.transitions import STEP, move
from orchestration.engine.worker import finish_with_output
from orchestration.models import Incident, MessageSubscription, Outbox, ProcessInstance, Step, Timer

if TYPE_CHECKING:
    from orchestration.engine.context import Actor


def cancel_instance(instance_id: Any, *, actor: Actor = None, reason: str = "") -> ProcessInstance:
    """Stop a running instance: close its steps, timers, subscriptions, tasks and child instances."""
    children: list[Any] = []
    with locked_run(instance_id, actor=actor) as run:
        if run.instance.status != ProcessInstance.Status.RUNNING:
            raise InvalidState(f"The process is already {run.instance.get_status_display().lower()}.")
        _close_open_work(run)
        move(run.instance, ProcessInstance.Status.CANCELLED)
        run.instance.ended_at = run.now
        run.instance.has_incident = False
        run.event(
            "instance.cancelled", f"Cancelled{': ' + reason if reason else ''}", data={"reason": reason}
        )
        if run.instance.parent_step_id:
            # The parent's call step must not wait forever: it becomes an incident on the next tick.
            parent_instance_id = Step.objects.values_list("instance_id", flat=True).get(
                id=run.instance.parent_step_id
            )
            Timer.objects.create(
                kind=Timer.Kind.WAIT,
                due_at=run.now,
                instance_id=parent_instance_id,
                step_id=run.instance.parent_step_id,
                payload={"child_instance": str(run.instance.id)},
            )
        children = list(
            ProcessInstance.objects.filter(
                parent_step__instance=run.instance, status=ProcessInstance.Status.RUNNING
            ).values_list("id", flat=True)
        )
    for child_id in children:
        try:
            cancel_instance(child_id, actor=actor, reason="Parent process cancelled")
        except InvalidState:
            pass  # finished in the meantime
    return run.instance


def _close_open_work(run: Run) -> None:
    open_steps = list(Step.objects.filter(instance=run.instance, status__in=Step.OPEN_STATUSES))
    for step in open_steps:
        if step.kind == "user_task" and step.status == Step.Status.WAITING:
            provider().cancel_tasks(run, step)
    STEP.bulk_move(
        Step.objects.filter(id__in=[s.id for s in open_steps]),
        Step.Status.CANCELLED,
        ended_at=run.now,
        lease_until=None,
    )
    Timer.objects.filter(instance=run.instance, fired_at__isnull=True, cancelled_at__isnull=True).update(
        cancelled_at=run.now
    )
    MessageSubscription.objects.filter(instance=run.instance).delete()
    Outbox.objects.filter(step__instance=run.instance).delete()
    Incident.objects.filter(instance=run.instance, resolved_at__isnull=True).update(
        resolved_at=run.now, resolution=Incident.Resolution.CANCELLED
    )


def _open_incident(run: Run, incident_id: int) -> tuple[Incident, Step]:
    incident = Incident.objects.select_for_update(of=("self",)).select_related("step").get(id=incident_id)
    if incident.instance_id != run.instance.id:
        raise Incident.DoesNotExist
    if incident.resolved_at is not None:
        raise InvalidState(f"The incident was already {incident.get_resolution_display().lower()}.")
    if incident.step.status != Step.Status.INCIDENT:
        raise InvalidState("The step is no longer failed.")
    return incident, incident.step


def _resolve(run: Run, incident: Incident, resolution: str) -> None:
    incident.resolved_at = run.now
    incident.resolution = resolution
    user = run.actor if run.actor is not None and run.actor.is_authenticated else None
    incident.resolved_by = user  # type: ignore[assignment]
    incident.save()
    run.instance.has_incident = Incident.objects.filter(
        instance=run.instance, resolved_at__isnull=True
    ).exists()


def _because(reason: str) -> str:
    return f": {reason}" if reason else ""


def _instance_of(incident_id: int) -> Any:
    return Incident.objects.values_list("instance_id", flat=True).get(id=incident_id)


def retry_incident(
    incident_id: int, *, actor: Actor = None, variables: dict[str, Any] | None = None, reason: str = ""
) -> ProcessInstance:
    """Run the failed step again, optionally after correcting ``variables`` (the fix); ``reason`` is recorded."""
    with locked_run(_instance_of(incident_id), actor=actor) as run:
        incident, step = _open_incident(run, incident_id)
        _resolve(run, incident, Incident.Resolution.RETRIED)
        if variables:
            run.set_variables(variables, step)
        run.event(
            "incident.retried",
            f"Retrying {step.node_name or step.node_id}{_because(reason)}",
            step=step,
            data={"incident": incident.id, "reason": reason},
        )
        step.error = ""
        block = block_for(step.kind)
        if incident.cause == Incident.Cause.OUTPUT_MAPPING:
            # The connector did its work: map its stored output again (with any fixed variables).
            finish_with_output(run, step)
        elif block.runs_on_worker and step.input is not None and step.attempt > 0 and not variables:
            step.max_attempts = step.attempt + step.max_attempts
            queue_for_worker(run, step, attempt=step.attempt + 1)
        else:
            # Inline blocks (and worker blocks whose inputs the fix changed) start over.
            move(step, Step.Status.CANCELLED)
            step.ended_at = run.now
            step.save()
            drive(run, [(step.node_id, step.incoming_flow)])
    return run.instance


def skip_incident(
    incident_id: int, *, actor: Actor = None, variables: dict[str, Any] | None = None, reason: str = ""
) -> ProcessInstance:
    """Treat the failed step as done (setting ``variables`` as its result) and move on; ``reason`` is recorded."""
    with locked_run(_instance_of(incident_id), actor=actor) as run:
        incident, step = _open_incident(run, incident_id)
        node = run.graph["nodes"][step.node_id]
        try:
            flows = block_for(step.kind).skip_flows(node)
        except BlockError as exc:
            raise InvalidState(str(exc)) from exc
        _resolve(run, incident, Incident.Resolution.SKIPPED)
        Outbox.objects.filter(step=step).delete()
        if variables:
            run.set_variables(variables, step)
        run.event(
            "incident.skipped",
            f"Skipped {step.node_name or step.node_id}{_because(reason)}",
            step=step,
            data={"incident": incident.id, "reason": reason},
        )
        step.output = variables or {}
        move(step, Step.Status.SKIPPED)
        step.ended_at = run.now
        step.save()
        drive(run, [(run.graph["flows"][f]["target"], f) for f in flows])
    return run.instance
