"""What a Celery worker does with a step: claim, run the connector, report back.

A worker that reports a result and thereby queues the instance's next connector step
takes that step itself, in the same transaction (running, with its lease), and runs it
at once: no broker round trip and no separate claim between two automated steps. Its
outbox row is written as for any step, so if the worker dies the relay finds the lease
expired and the step is retried. A Celery task chains steps this way for at most
``BATON_WORKER_CHAIN_SECONDS`` and leaves the rest to the queue.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from orchestration.connectors import registry
from orchestration.connectors.base import ConnectorError
from orchestration.engine.blocks import block_for
from orchestration.engine.blocks.base import BlockError, evaluate_mapping
from orchestration.engine.boundaries import throw_error
from orchestration.engine.context import Run
from orchestration.engine.dispatch import claimable
from orchestration.engine.graphs import graph_for
from orchestration.engine.leases import lease_kept
from orchestration.engine.runtime import drive_from, drive_tokens, lock_step, locked_run, raise_incident
from orchestration.engine.scopes import locals_for
from orchestration.engine.transitions import STEP, move
from orchestration.models import Incident, Outbox, ProcessInstance, Step, Timer

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Graph

logger = logging.getLogger(__name__)


def claim_step(step_id: int, attempt: int) -> Step | None:
    """Take ownership of a queued step; ``None`` if someone else has it or it moved on."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.BATON_STEP_LEASE_SECONDS)
    claimed = STEP.bulk_move(
        Step.objects.filter(claimable(step_id, attempt)),
        Step.Status.RUNNING,
        lease_until=lease,
        started_at=now,
    )
    if not claimed:
        return None
    return Step.objects.annotate(
        version_id=F("instance__version_id"), version_checksum=F("instance__version__checksum")
    ).get(id=step_id)


def execute_step(step_id: int, attempt: int) -> None:
    """Run one attempt of a connector step end to end (the body of the Celery task), then the
    instance's next connector steps this worker took while the chaining time lasts."""
    step = claim_step(step_id, attempt)
    if step is None:
        logger.debug("Step %s attempt %s already claimed or done; dropping the message", step_id, attempt)
        return
    graph = graph_for(step.version_id, step.version_checksum)  # type: ignore[attr-defined]
    chain_until = time.monotonic() + settings.BATON_WORKER_CHAIN_SECONDS
    next_step: Step | None = step
    while next_step is not None:
        next_step = _run_claimed(next_step, graph, take_next=time.monotonic() < chain_until)


def _run_claimed(step: Step, graph: Graph, *, take_next: bool) -> Step | None:
    """Run the connector of a step this worker holds and record the result; returns the next step it took."""
    step_id, attempt = step.id, step.attempt
    config = graph["nodes"][step.node_id]["config"]
    # Renewed until the result is recorded: a slow connector is never taken from a live worker.
    with lease_kept(step_id, attempt):
        try:
            connector = registry.get(config["connector"])
            output = connector.run(dict(config.get("properties", {})), step.input, str(step.idempotency_key))
        except ConnectorError as exc:
            fail_step(
                step_id,
                attempt,
                str(exc),
                retryable=exc.retryable,
                instance_id=step.instance_id,
                code=getattr(exc, "code", None),
            )
        except Exception as exc:
            logger.exception("Connector %s crashed on step %s", config.get("connector"), step_id)
            fail_step(
                step_id, attempt, f"{type(exc).__name__}: {exc}", retryable=True, instance_id=step.instance_id
            )
        else:
            result = output if isinstance(output, dict) else {"value": output}
            return complete_step(step_id, attempt, result, instance_id=step.instance_id, take_next=take_next)
    return None


def _worker_step(run: Run, step_id: int, attempt: int) -> Step | None:
    step = lock_step(run, step_id)
    if (
        run.instance.status != ProcessInstance.Status.RUNNING
        or step.status != Step.Status.RUNNING
        or step.attempt != attempt
    ):
        logger.info("Result of step %s attempt %s arrived after the step moved on; ignored", step_id, attempt)
        if step.status == Step.Status.CANCELLED:
            # Recorded for people reading the history: the external system did the work anyway.
            run.event(
                "step.late_result",
                f"{step.node_name or step.node_id}: a result arrived after the step was cancelled; ignored",
                step=step,
                data={"attempt": attempt},
            )
        return None
    return step


def complete_step(
    step_id: int, attempt: int, output: dict[str, Any], *, instance_id: Any = None, take_next: bool = False
) -> Step | None:
    """Record a connector's output, map it to variables and move the token on.

    With ``take_next``, the first connector step this queues is taken by the caller
    (running, leased to it) instead of published, and returned once committed.
    """
    if instance_id is None:
        instance_id = Step.objects.values_list("instance_id", flat=True).get(id=step_id)
    with locked_run(instance_id, actor_label="worker") as run:
        run.take_for_worker = take_next
        step = _worker_step(run, step_id, attempt)
        if step is None:
            return None
        Outbox.objects.filter(step=step).delete()
        step.output = output
        step.lease_until = None
        finish_with_output(run, step)
    return run.taken


def finish_with_output(run: Run, step: Step) -> None:
    """Map ``step.output`` to variables and move the token on; a mapping error becomes an incident.

    The caller holds the instance lock. Used when the connector answers, and again when an
    operator retries an incident whose output could not be mapped (the connector is not re-run).
    """
    node = run.graph["nodes"][step.node_id]
    run.locals = locals_for(run, step)
    try:
        values = evaluate_mapping(run, node["config"].get("outputs", {}), "output", result=step.output)
    except BlockError as exc:
        raise_incident(run, step, str(exc), cause=Incident.Cause.OUTPUT_MAPPING)
        return
    flows = block_for(step.kind).worker_done(run, step, node)
    run.event(
        "step.completed",
        f"{step.node_name or step.node_id} done (attempt {step.attempt})",
        step=step,
        data={"output": step.output},
    )
    run.set_variables(values, step)
    drive_from(run, step, flows)


def backoff_seconds(config: dict[str, Any], attempt: int) -> float:
    """Delay before attempt ``attempt + 1``: the block's base (or the default), doubled per attempt."""
    base = float(config.get("retry_backoff") or settings.BATON_RETRY_BASE_SECONDS)
    return min(base * (2 ** (attempt - 1)), settings.BATON_RETRY_MAX_SECONDS)


def fail_step(
    step_id: int,
    attempt: int,
    error: str,
    *,
    retryable: bool,
    instance_id: Any = None,
    lease_over_at: datetime | None = None,
    code: str | None = None,
) -> None:
    """Schedule the next attempt with exponential backoff; when out of attempts (or for a business
    error, ``code``) take the step's "If it fails" path, or raise an incident when it has none.

    With ``lease_over_at`` (the relay declaring a worker lost), nothing happens if the
    worker renewed the step's lease past that moment in the meantime.
    """
    if instance_id is None:
        instance_id = Step.objects.values_list("instance_id", flat=True).get(id=step_id)
    with locked_run(instance_id, actor_label="worker") as run:
        step = _worker_step(run, step_id, attempt)
        if step is None:
            return
        if lease_over_at and step.lease_until and step.lease_until > lease_over_at:
            logger.info("Step %s attempt %s: its worker renewed the lease; still running", step_id, attempt)
            return
        Outbox.objects.filter(step=step).delete()
        if code is None and retryable and attempt < step.max_attempts:
            delay = backoff_seconds(run.graph["nodes"][step.node_id]["config"], attempt)
            move(step, Step.Status.RETRY_WAIT)
            step.error = error
            step.lease_until = None
            step.save()
            Timer.objects.create(
                kind=Timer.Kind.RETRY,
                due_at=run.now + timedelta(seconds=delay),
                instance=run.instance,
                step=step,
                payload={"attempt": attempt + 1},
            )
            run.event(
                "step.retry_scheduled",
                f"Attempt {attempt} of {step.max_attempts} failed; retrying in {delay:g}s: {error}",
                step=step,
                data={"attempt": attempt, "error": error, "delay_seconds": delay},
            )
        else:
            node = run.graph["nodes"][step.node_id]
            instead = block_for(step.kind).worker_gave_up(run, step, node, error)
            if instead is not None:
                step.lease_until = None
                drive_from(run, step, instead)
                return
            caught = throw_error(run, step, code, error)
            if caught is not None:
                drive_tokens(run, caught)
                return
            reason = (
                f'{error} (error "{code}")' if code else error if retryable else f"{error} (not retryable)"
            )
            raise_incident(run, step, reason)
