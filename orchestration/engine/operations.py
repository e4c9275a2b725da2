"""Operator actions on running instances: cancel, retry or skip an incident, fix data, move a token.

Each takes the instance lock (:func:`locked_run`), checks the state under it, asks
``authorize(instance)`` when given (the caller's access rule, e.g. ``can_operate``;
PermissionDenied when it says no) and writes an event naming who acted and why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied

from orchestration.engine.blocks import block_for
from orchestration.engine.blocks.base import BlockError
from orchestration.engine.context import Run, Token
from orchestration.engine.dispatch import queue_for_worker
from orchestration.engine.human import provider
from orchestration.engine.runtime import InvalidState, drive, drive_from, drive_tokens, locked_run
from orchestration.engine.scopes import cancel_children_after_commit, cancel_steps, open_steps
from orchestration.engine.start_data import clean_variables
from orchestration.engine.transitions import move
from orchestration.engine.worker import finish_with_output
from orchestration.models import Incident, Outbox, ProcessInstance, Step, Timer

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Actor

# The caller's access rule, asked about the instance under its lock.
Authorize = Callable[[ProcessInstance], bool]


def _check(run: Run, authorize: Authorize | None) -> None:
    if authorize is not None and not authorize(run.instance):
        raise PermissionDenied(f"You need the operate permission on {run.instance.workflow.name}.")


def is_move_target(node: Node) -> bool:
    """Whether a token may be moved to ``node``: any block but a start event or a parallel join."""
    return not (node["kind"] == "start" or (node["kind"] == "parallel" and len(node["incoming"]) > 1))


def cancel_instance(
    instance_id: Any, *, actor: Actor = None, reason: str = "", authorize: Authorize | None = None
) -> ProcessInstance:
    """Stop a running instance: close its steps, timers, subscriptions, tasks and child instances.

    The people side is told (:meth:`HumanTaskProvider.instance_cancelled`): the requester
    learns that someone else cancelled their request, and why.
    """
    children: list[Any] = []
    with locked_run(instance_id, actor=actor) as run:
        _check(run, authorize)
        if run.instance.status != ProcessInstance.Status.RUNNING:
            raise InvalidState(f"The process is already {run.instance.get_status_display().lower()}.")
        children = cancel_steps(run, open_steps(run), reason=reason)
        provider().instance_cancelled(run, reason)
        move(run.instance, ProcessInstance.Status.CANCELLED)
        run.instance.ended_at = run.now
        run.instance.has_incident = False
        run.event(
            "instance.cancelled", f"Cancelled{': ' + reason if reason else ''}", data={"reason": reason}
        )
        parent_instance_id = run.instance.parent_step_id and (
            Step.objects.filter(id=run.instance.parent_step_id, status__in=Step.OPEN_STATUSES)
            .values_list("instance_id", flat=True)
            .first()
        )
        if parent_instance_id:
            # The parent's call step must not wait forever: it becomes an incident on the next tick.
            # (A parent that stopped everything has closed it already: nothing to wake.)
            Timer.objects.create(
                kind=Timer.Kind.WAIT,
                due_at=run.now,
                instance_id=parent_instance_id,
                step_id=run.instance.parent_step_id,
                payload={"child_instance": str(run.instance.id)},
            )
    for child_id in children:
        try:
            cancel_instance(child_id, actor=actor, reason="Parent process cancelled")
        except InvalidState:
            pass  # finished in the meantime
    return run.instance


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
    return f" ({reason})" if reason else ""


def _instance_of(incident_id: int) -> Any:
    return Incident.objects.values_list("instance_id", flat=True).get(id=incident_id)


def retry_incident(
    incident_id: int,
    *,
    actor: Actor = None,
    variables: dict[str, Any] | None = None,
    reason: str = "",
    authorize: Authorize | None = None,
) -> ProcessInstance:
    """Run the failed step again, optionally after correcting ``variables`` (the fix).

    Corrected values are converted and checked like start data (StartDataError names the
    field); the history keeps each old and new value.
    """
    with locked_run(_instance_of(incident_id), actor=actor) as run:
        _check(run, authorize)
        incident, step = _open_incident(run, incident_id)
        if variables:
            variables = clean_variables(run.graph, variables)
        _resolve(run, incident, Incident.Resolution.RETRIED)
        if variables:
            run.set_variables(variables, step)
        run.event(
            "incident.retried",
            f"Retrying {step.node_name or step.node_id}{_because(reason)}",
            step=step,
            data={"incident": incident.id, "reason": reason, "fixed": sorted(variables or {})},
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
            drive_tokens(run, [Token(step.node_id, step.incoming_flow, step.scope_id, step.loop_index)])
    return run.instance


def skip_incident(
    incident_id: int,
    *,
    actor: Actor = None,
    variables: dict[str, Any] | None = None,
    reason: str = "",
    authorize: Authorize | None = None,
) -> ProcessInstance:
    """Treat the failed step as done, setting ``variables`` (checked like start data) as its result."""
    with locked_run(_instance_of(incident_id), actor=actor) as run:
        _check(run, authorize)
        incident, step = _open_incident(run, incident_id)
        node = run.graph["nodes"][step.node_id]
        try:
            flows = block_for(step.kind).skip_flows(node)
        except BlockError as exc:
            raise InvalidState(str(exc)) from exc
        if variables:
            variables = clean_variables(run.graph, variables)
        _resolve(run, incident, Incident.Resolution.SKIPPED)
        Outbox.objects.filter(step=step).delete()
        if variables:
            run.set_variables(variables, step)
        run.event(
            "incident.skipped",
            f"Skipped {step.node_name or step.node_id}{_because(reason)}",
            step=step,
            data={"incident": incident.id, "reason": reason, "output": variables or {}},
        )
        step.output = variables or {}
        drive_from(run, step, flows, Step.Status.SKIPPED)
    return run.instance


def move_token(
    instance_id: Any,
    step_id: int,
    target: str,
    *,
    actor: Actor = None,
    reason: str = "",
    authorize: Authorize | None = None,
) -> ProcessInstance:
    """Cancel the open step ``step_id`` and start the token again at block ``target``.

    What the step was waiting for is closed with it (tasks, timers, a message wait, its
    queued work, its incident; a sub-process it called is cancelled after the commit).
    A worker's late result for it is ignored. Start events and parallel joins are refused
    as targets: a token there would never mean what the diagram says.
    """
    with locked_run(instance_id, actor=actor) as run:
        _check(run, authorize)
        if run.instance.status != ProcessInstance.Status.RUNNING:
            raise InvalidState(f"The process is {run.instance.get_status_display().lower()}.")
        step = Step.objects.select_for_update().filter(id=step_id, instance=run.instance).first()
        if step is None or not step.is_open:
            raise InvalidState("That step is no longer open: the request has moved on.")
        node = run.graph["nodes"].get(target)
        if node is None:
            raise InvalidState(f"The diagram has no block {target!r}.")
        if not is_move_target(node):
            raise InvalidState(f"A request cannot be moved to {node['name'] or target}: choose a step.")
        current = run.graph["nodes"].get(step.node_id)
        here = current.get("parent") if current is not None else None
        if step.loop_index is not None or node.get("parent") != here:
            raise InvalidState(
                "A request can be moved only between steps at the same level: not out of or into a Group, "
                "nor one item of a For each."
            )
        open_incidents = Incident.objects.filter(step=step, resolved_at__isnull=True)
        for incident in open_incidents.select_for_update():
            _resolve(run, incident, Incident.Resolution.MOVED)
        source = step.node_name or step.node_id
        children = cancel_steps(run, [step], reason=f"moved to {node['name'] or target}")
        cancel_children_after_commit(children, "The step that called it was moved")
        run.event(
            "token.moved",
            f"Moved from {source} to {node['name'] or target}{_because(reason)}",
            step=step,
            data={"from": step.node_id, "to": target, "reason": reason},
        )
        drive(run, [(target, "")], scope_id=step.scope_id)
    return run.instance
