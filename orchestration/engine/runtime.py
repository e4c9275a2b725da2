"""The one way process state changes: lock the instance, move tokens, commit.

Every public function here opens (or joins) a transaction, locks the instance row
with ``SELECT ... FOR UPDATE`` (IMMEDIATE transactions on SQLite), runs inline
blocks until every token waits, writes Steps, Outbox rows, Timers and Events,
bumps ``lock_version`` and schedules Celery publishing for after the commit.
Nothing here talks to Celery or the network inside the transaction.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, cast

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from orchestration.engine import boundaries, loops, scopes
from orchestration.engine.blocks import block_for, settle
from orchestration.engine.blocks.base import BlockError
from orchestration.engine.context import Run, Token, stand_in_number
from orchestration.engine.dispatch import publish_on_commit, queue_task
from orchestration.engine.graphs import graph_for
from orchestration.engine.start_data import StartDataError, clean_start_data
from orchestration.engine.transitions import move
from orchestration.engine.writes import close_steps, lock_step, write_steps
from orchestration.models import Event, Incident, ProcessInstance, Step, Timer, WorkflowVersion

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Graph
    from orchestration.engine.context import Actor

logger = logging.getLogger(__name__)

__all__ = [
    "REQUEST_INLINE_BLOCKS",
    "InvalidState",
    "StartDataError",
    "complete_caught",
    "complete_instance",
    "continue_handed_off",
    "drive",
    "drive_from",
    "drive_tokens",
    "ensure_waiting",
    "finish_run",
    "locked_run",
    "resume_in_run",
    "resume_step",
    "start_instance",
]

_RUN_FIELDS = ["status", "outcome", "variables", "has_incident", "ended_at", "lock_version"]

# Inline blocks run in one transaction; a loop that never waits is stopped here.
MAX_INLINE_STEPS = 5000
# A start from a web request runs at most this many blocks; a worker continues the rest
# (with the whole MAX_INLINE_STEPS as its loop guard), so no request holds a long inline run.
REQUEST_INLINE_BLOCKS = 200


class InvalidState(Exception):
    """The requested change does not apply to the current state (already done, cancelled...)."""


# --- runs -------------------------------------------------------------------------


@contextmanager
def locked_run(instance_id: Any, *, actor: Actor = None, actor_label: str = "") -> Iterator[Run]:
    """Open a transaction, lock the instance and yield a :class:`Run`; finish it on exit.

    May be nested inside a caller's transaction (the approvals app locks its task
    in the same transaction). Locks are taken in the order instance, then step.
    ``instance_id`` may be a subquery giving the id (``Subquery(...values("instance_id"))``),
    so a caller holding only a row that points at the instance locks it in one statement.
    """
    with transaction.atomic():
        instance = (
            ProcessInstance.objects.select_for_update(of=("self",))
            .select_related("initiator")
            .annotate(version_checksum=F("version__checksum"))
            .get(id=instance_id)
        )
        graph = graph_for(instance.version_id, instance.version_checksum)
        run = Run(instance=instance, graph=graph, actor=actor, actor_label=actor_label)
        yield run
        finish_run(run)


def _open_steps_left(run: Run) -> bool:
    """Whether the instance still has an open step, asking the database only when the run cannot tell."""
    open_statuses = Step.OPEN_STATUSES
    if any(step.status in open_statuses for step in run.created):
        return True
    if run.open_counted is not None and run.open_counted == len(run.closed):
        return False
    write_steps(run)
    return Step.objects.filter(instance=run.instance, status__in=open_statuses).exists()


def finish_run(run: Run) -> None:
    """Let waiting joins go on, complete the instance if no token is left, write what the run made, bump the version, publish on commit."""
    instance = run.instance
    if instance.status == ProcessInstance.Status.RUNNING:
        settle(run)  # every token has moved: a join waiting on the rest of the instance may go on
    if instance.status == ProcessInstance.Status.RUNNING and not run.left_open and not _open_steps_left(run):
        complete_instance(run)
    instance.lock_version += 1
    # A new instance's row is written once, with its state at the end of the run (foreign keys
    # are checked at commit, so its steps may be written before it).
    if instance._state.adding:
        instance.save()
    else:
        instance.save(update_fields=_RUN_FIELDS)
    write_steps(run)
    if run.events:
        Event.objects.bulk_create(run.events)
        run.events.clear()
    publish_on_commit([(step.id, attempt) for step, attempt in run.dispatch])
    run.dispatch = []


def complete_instance(run: Run) -> None:
    """Mark the run's instance completed (no token left, or a "Stop everything" reached) and wake its parent.

    The caller has closed every open step; tokens still moving in this run go no further.
    """
    instance = run.instance
    move(instance, ProcessInstance.Status.COMPLETED)
    instance.ended_at = timezone.now()
    outcome = f" ({instance.outcome})" if instance.outcome else ""
    run.event("instance.completed", f"Process completed{outcome}", data={"outcome": instance.outcome})
    if instance.parent_step_id:
        # The parent resumes in its own transaction: lock order stays child, then nothing.
        parent_step = Step.objects.only("id", "instance_id").get(id=instance.parent_step_id)
        Timer.objects.create(
            kind=Timer.Kind.WAIT,
            due_at=run.now,
            instance_id=parent_step.instance_id,
            step=parent_step,
            payload={"child_instance": str(instance.id)},
        )


# --- moving tokens --------------------------------------------------------------


def drive(run: Run, tokens: list[tuple[str, str]], *, scope_id: int | None = None) -> None:
    """Run blocks for ``tokens`` (node id, incoming flow id) until each one waits or ends.

    ``scope_id`` is the Group or For each step the tokens move inside (None: the process).
    A run with ``hand_off_after`` set stops after that many blocks and leaves the
    tokens still moving to a worker (:func:`continue_handed_off`).
    """
    _drive(run, deque(Token(node_id, flow_id, scope_id) for node_id, flow_id in tokens))


def _drive(run: Run, queue: deque[Token]) -> None:
    budget = MAX_INLINE_STEPS
    while queue:
        if run.instance.status != ProcessInstance.Status.RUNNING:
            queue.clear()  # a "Stop everything" ended the instance: the other tokens go nowhere
            return
        if run.hand_off_after is not None and run.blocks_run >= run.hand_off_after:
            _hand_off(run, queue)
            return
        budget -= 1
        run.blocks_run += 1
        token = queue.popleft()
        step = token.step or _new_step(run, token)
        if budget < 0:
            # Every token left becomes an incident: nothing is lost, an operator decides.
            raise_incident(
                run, step, f"More than {MAX_INLINE_STEPS} blocks ran without waiting: is there a loop?"
            )
            continue
        queue.extend(_enter(run, step))
        if run.spawned:
            queue.extend(run.spawned)
            run.spawned.clear()


def _new_step(run: Run, token: Token) -> Step:
    """A step for a token arriving at its node, written with the run's other new steps."""
    node = run.graph["nodes"][token.node_id]
    step = Step(
        instance=run.instance,
        node_id=token.node_id,
        node_name=node["name"],
        kind=node["kind"],
        incoming_flow=token.flow_id,
        started_at=run.now,
        scope_id=token.scope_id,
        loop_index=token.loop_index,
    )
    run.pending.append(step)
    run.created.append(step)
    return step


def _hand_off(run: Run, queue: deque[Token]) -> None:
    """Save each token left as an active step not yet entered, for a worker to continue.

    Active steps are open, so the instance cannot complete before they run; the outbox
    row carries the continuation and the relay sends it again if its message is lost.
    """
    steps = [token.step or _new_step(run, token) for token in queue]
    queue.clear()
    run.left_open = True
    run.event(
        "instance.handed_off",
        f"{run.blocks_run} blocks ran at once; a worker runs the rest",
        data={"blocks_run": run.blocks_run, "steps": [s.node_id for s in steps]},
    )
    queue_task("orchestration.continue_run", [str(run.instance.id)])


def continue_handed_off(instance_id: Any) -> None:
    """Run the steps a request handed off (active steps not yet entered) until each waits or ends.

    A duplicate message finds none left and changes nothing but the lock version.
    """
    with locked_run(instance_id, actor_label="worker") as run:
        if run.instance.status != ProcessInstance.Status.RUNNING:
            return  # cancelled meanwhile: cancelling closed the handed-off steps too
        handed_off = Step.objects.filter(instance=run.instance, status=Step.Status.ACTIVE).order_by("id")
        _drive(run, deque(Token.resuming(step) for step in handed_off))


def _enter(run: Run, step: Step) -> list[Token]:
    """Enter one block; turn a BlockError into an incident. Returns the tokens it emits."""
    node = run.graph["nodes"][step.node_id]
    block = block_for(node["kind"])
    # A For each step runs the block once per item (loops.py); each item enters the block itself.
    hosts_loop = "loop" in node and step.loop_index is None
    # Events on the step's edge are armed once it waits; a For each's are on its holder, not its items.
    armed = bool(node.get("boundaries")) and step.loop_index is None
    writes = block.saves_first or hosts_loop or armed
    if writes:
        # The steps made before this one are written outside the block's savepoint, in path order;
        # the block writes its own step (write_step) once it has set what the row holds.
        write_steps(run, keep=step)
    run.locals = scopes.locals_for(run, step)
    try:
        if writes:
            # A savepoint, so a block failing halfway leaves none of its rows behind.
            with transaction.atomic():
                flows = loops.enter(run, step, node) if hosts_loop else block.enter(run, step, node)
                if flows is None and armed and step.status in Step.OPEN_STATUSES:
                    boundaries.arm(run, step, node)
        else:
            flows = block.enter(run, step, node)
    except BlockError as exc:
        raise_incident(run, step, str(exc))
        return []
    if flows is None:
        # A step that waits for the outside world keeps the instance running past this run.
        run.left_open = run.left_open or (block.leaves_open and not hosts_loop)
        return []
    return _complete(run, step, flows)


def _complete(run: Run, step: Step, flows: list[str], status: str = Step.Status.COMPLETED) -> list[Token]:
    """Close ``step`` along ``flows``; the tokens to drive next (its scope's, when it was the last inside)."""
    close_steps(run, [step], status)
    node = run.graph["nodes"][step.node_id]
    if node.get("boundaries") and step.loop_index is None:
        boundaries.disarm(run, step)
    if step.loop_index is not None:
        return loops.item_done(run, step)
    tokens = [Token(run.graph["flows"][f]["target"], f, step.scope_id) for f in flows]
    if not tokens and step.scope_id is not None:
        return scopes.leave(run, step.scope_id)
    return tokens


def raise_incident(run: Run, step: Step, error: str, *, cause: str = Incident.Cause.STEP_FAILED) -> Incident:
    """Stop ``step`` and record an incident an operator can retry or skip."""
    move(step, Step.Status.INCIDENT)
    step.error = error
    step.lease_until = None
    if step.pk is None:
        write_steps(run)
    else:
        step.save()
    run.instance.has_incident = True
    incident = Incident.objects.create(instance=run.instance, step=step, error=error, cause=cause)
    from orchestration.ops.incidents import queue_notice  # the console imports the engine: not at load

    queue_notice(incident)
    run.event(
        "incident.raised",
        f"{step.node_name or step.node_id} failed: {error}",
        step=step,
        data={"incident": incident.id, "error": error},
    )
    logger.warning("Incident on %s step %s: %s", run.instance.id, step.node_id, error)
    return incident


def resume_in_run(
    run: Run,
    step: Step,
    variables: dict[str, Any],
    *,
    message: str,
    output: dict[str, Any] | None = None,
    flows: list[str] | None = None,
) -> None:
    """Complete a waiting ``step`` inside an open run and move its token on (along ``flows``, else every outgoing one)."""
    ensure_waiting(step)
    run.locals = scopes.locals_for(run, step)
    run.event("step.completed", message, step=step)
    run.set_variables(variables, step)
    node = run.graph["nodes"][step.node_id]
    if block_for(node["kind"]).may_have_timers(node):
        Timer.objects.filter(step=step, fired_at__isnull=True, cancelled_at__isnull=True).update(
            cancelled_at=run.now
        )
    step.output = output if output is not None else variables
    drive_from(run, step, list(node["outgoing"]) if flows is None else flows)


def complete_caught(run: Run, step: Step, flow_id: str, variables: dict[str, Any], *, message: str) -> None:
    """Complete the waiting ``step`` along ``flow_id``, whose catch event has already happened.

    A "First event wins" step waits for the events of the Waits after it; when one happens,
    the token passes through that Wait at once: its step is made completed with ``variables``
    (a message's data), without waiting or subscribing again, and the token moves on from it.
    """
    ensure_waiting(step)
    step.output = {"flow": flow_id}
    token = _complete(run, step, [flow_id])[0]
    target = token.node_id
    caught = _new_step(run, token)
    run.event("step.completed", message, step=caught)
    run.set_variables(variables, caught)
    caught.output = variables
    drive_from(run, caught, list(run.graph["nodes"][target]["outgoing"]))


def ensure_waiting(step: Step) -> None:
    """Raise :class:`InvalidState` unless ``step`` waits (people, a timer, a message, a child)."""
    if step.status != Step.Status.WAITING:
        raise InvalidState(f"Step {step.node_id} is {step.get_status_display().lower()}, not waiting.")


def drive_from(run: Run, step: Step, flows: list[str], status: str = Step.Status.COMPLETED) -> None:
    """Close ``step`` (completed, or skipped by an operator) following ``flows`` and drive the emitted tokens."""
    _drive(run, deque(_complete(run, step, flows, status)))


def complete_scope(run: Run, host: Step) -> list[Token]:
    """Complete a Group or For each step whose inside is done; the tokens it emits."""
    return _complete(run, host, list(run.graph["nodes"][host.node_id]["outgoing"]))


def drive_tokens(run: Run, tokens: list[Token]) -> None:
    """Drive ``tokens`` made by an engine module (a boundary's path, a Group's inside, a For each item)."""
    _drive(run, deque(tokens))


def resume_step(
    instance_id: Any,
    step_id: int,
    variables: dict[str, Any],
    *,
    actor: Actor = None,
    actor_label: str = "",
    message: str = "Step completed",
    flows: list[str] | None = None,
) -> ProcessInstance:
    """Complete a waiting step (human task decided, message arrived) with ``variables``.

    The token moves on along ``flows`` (an Approval's path for the decision), else every
    outgoing path. Raises :class:`InvalidState` if the step no longer waits (decided by
    someone else, instance cancelled).
    """
    with locked_run(instance_id, actor=actor, actor_label=actor_label) as run:
        if run.instance.status != ProcessInstance.Status.RUNNING:
            raise InvalidState(f"The process is {run.instance.get_status_display().lower()}.")
        step = lock_step(run, step_id)
        resume_in_run(run, step, variables, message=message, flows=flows)
    return run.instance


# --- starting -----------------------------------------------------------------------


def start_node_for(graph: Graph, trigger: str, node_id: str | None = None) -> str:
    """The start event a ``trigger`` (api, manual, webhook, call, timer, message) starts at."""
    if node_id:
        return node_id
    wanted = {"api": "none", "manual": "none", "webhook": "none", "call": "none"}.get(trigger, trigger)
    candidates = [n for n in graph["start_nodes"] if graph["nodes"][n]["config"].get("trigger") == wanted]
    if not candidates and len(graph["start_nodes"]) == 1:
        candidates = list(graph["start_nodes"])
    if not candidates:
        raise StartDataError({"__all__": [f"This workflow has no start event for a {trigger} start."]})
    return candidates[0]


def _create_and_drive(
    version: WorkflowVersion,
    data: dict[str, Any],
    *,
    initiator: Actor,
    business_key: str,
    trigger: str,
    start_node: str | None,
    actor_label: str,
    parent_step: Step | None,
    hand_off_after: int | None = None,
) -> ProcessInstance:
    graph: Graph = version.graph  # type: ignore[assignment]
    node_id = start_node_for(graph, trigger, start_node)
    variables = clean_start_data(graph["nodes"][node_id], data)
    # Written when the run finishes (finish_run), with its state then: one INSERT, no UPDATE.
    instance = ProcessInstance(
        workflow_id=version.workflow_id,
        version=version,
        variables=variables,
        initiator=cast(Any, initiator) if initiator is not None and initiator.is_authenticated else None,
        business_key=business_key,
        trigger=trigger,
        parent_step=parent_step,
    )
    if (number := stand_in_number()) is not None:
        instance.number = number
    run = Run(
        instance=instance,
        graph=graph,
        actor=initiator,
        actor_label=actor_label,
        hand_off_after=hand_off_after,
        fresh=True,
        open_counted=0,
    )
    run.event(
        "instance.started",
        f"Started on version {version.number} {_STARTED_BY.get(trigger, f'by {trigger}')}",
        data={"variables": variables, "trigger": trigger},
    )
    drive(run, [(node_id, "")])
    finish_run(run)
    return instance


# How the history says what started a request (the trigger names are stored in the event's data).
_STARTED_BY: Final = {
    "manual": "from the request form",
    "api": "through the API",
    "webhook": "by a webhook call",
    "message": "by a message",
    "timer": "on its schedule",
    "call": "by another workflow",
}


def start_instance(
    version: WorkflowVersion,
    data: dict[str, Any],
    *,
    initiator: Actor = None,
    business_key: str = "",
    trigger: str = "api",
    start_node: str | None = None,
    actor_label: str = "",
    hand_off_after: int | None = None,
) -> ProcessInstance:
    """Start an instance of a published ``version`` with start ``data``.

    The data is checked against the start form (types, required, bounds, choices);
    :class:`StartDataError` carries the errors by field. Inline blocks run at once;
    the instance is returned after commit with its first wait states written. With
    ``hand_off_after`` (a web request passes :data:`REQUEST_INLINE_BLOCKS`) at most
    that many blocks run here and a worker runs the rest.
    """
    if version.status != WorkflowVersion.Status.PUBLISHED:
        raise InvalidState("Only a published version can be started.")
    with transaction.atomic():
        return _create_and_drive(
            version,
            data,
            initiator=initiator,
            business_key=business_key,
            trigger=trigger,
            start_node=start_node,
            actor_label=actor_label,
            parent_step=None,
            hand_off_after=hand_off_after,
        )


def start_child_instance(
    run: Run, step: Step, version: WorkflowVersion, data: dict[str, Any]
) -> ProcessInstance:
    """Start a sub-process for a call activity ``step`` inside the parent's transaction."""
    return _create_and_drive(
        version,
        data,
        initiator=run.instance.initiator,
        business_key=run.instance.business_key,
        trigger="call",
        start_node=None,
        actor_label=run.actor_label,
        parent_step=step,
        # A child started in a web request shares what is left of the request's blocks.
        hand_off_after=None if run.hand_off_after is None else max(run.hand_off_after - run.blocks_run, 0),
    )
