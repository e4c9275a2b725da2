"""Move a running instance to another published version of its workflow (Camunda's "migrate").

Every open step (an approval waiting, a connector step queued or running, a timer or
message wait, an incident) is matched by its block id to the same block in the target
version, or to the block the operator chose in ``mapping``. When one has no counterpart, or
its counterpart is a block of another kind, the instance does not move and the plan says why
in plain words. Moving renames the steps' block ids and points the instance at the target
version: tasks, timers, message waits and incidents stay attached to the same step rows, so
they keep working. Variables stay as they are.

A dry run runs the same code under the same lock, in a transaction that is rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from orchestration.engine.blocks import registered
from orchestration.engine.graphs import graph_for
from orchestration.engine.runtime import locked_run
from orchestration.models import MessageSubscription, ProcessInstance, Step, WorkflowVersion

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Graph, Node
    from orchestration.engine.context import Actor, Run
    from orchestration.engine.operations import Authorize


@dataclass
class StepMove:
    """One open step and the block it continues at in the target version."""

    step_id: int
    node_id: str
    node_name: str
    target_id: str
    target_name: str
    status: str


@dataclass
class MigrationPlan:
    """What moving one instance does (or would do): its steps' counterparts, or why it cannot move."""

    instance_id: Any
    reference: str
    title: str
    from_version: int | None
    to_version: int | None
    moves: list[StepMove] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    moved: bool = False

    @property
    def can_move(self) -> bool:
        return not self.problems


class _DryRun(Exception):
    """Raised inside the transaction to roll it back (a dry run, or an instance that cannot move)."""


def _kind_label(kind: str) -> str:
    known = registered(kind)
    return known.label.lower() if known is not None else kind


def _named(node: Node, node_id: str) -> str:
    return node.get("name") or node_id


def plan_steps(
    steps: list[Step], target_graph: Graph, mapping: dict[str, str]
) -> tuple[list[StepMove], list[str]]:
    """Each open step's counterpart in ``target_graph`` (``mapping`` first, then the same id), and the problems."""
    moves: list[StepMove] = []
    problems: list[str] = []
    nodes = target_graph["nodes"]
    for step in steps:
        chosen = mapping.get(step.node_id) or step.node_id
        node = nodes.get(chosen)
        name = step.node_name or step.node_id
        if node is None:
            if step.node_id in mapping:
                problems.append(f"The block chosen for “{name}” ({chosen}) is not in the new version.")
            else:
                problems.append(
                    f"It waits at “{name}”, which the new version no longer has: choose where it continues."
                )
            continue
        if node["kind"] != step.kind:
            problems.append(
                f"It waits at “{name}” ({_kind_label(step.kind)}), but “{_named(node, chosen)}” "
                f"in the new version is a {_kind_label(node['kind'])}."
            )
            continue
        incoming = node.get("incoming") or []
        if step.status == Step.Status.WAITING and len(incoming) > 1 and step.incoming_flow not in incoming:
            # A token waiting at a join is counted by the path it came on: that path must still lead there.
            problems.append(
                f"It waits at “{name}” for other paths to arrive, "
                "but the path it came on no longer leads there in the new version."
            )
            continue
        moves.append(StepMove(step.id, step.node_id, name, chosen, _named(node, chosen), step.status))
    return moves, problems


def migrate_instance(
    instance_id: Any,
    target_version: WorkflowVersion | int,
    mapping: dict[str, str] | None = None,
    *,
    actor: Actor = None,
    reason: str = "",
    dry_run: bool = False,
    authorize: Authorize | None = None,
) -> MigrationPlan:
    """Move the running instance ``instance_id`` to ``target_version`` (a published version of its workflow).

    ``mapping`` gives, for a block id of the current version, the block id it continues at
    in the target version (for blocks the target removed or renamed). Takes the instance
    lock; returns the plan, with ``moved`` set when the instance was moved. With ``dry_run``
    the same work is done and rolled back. An instance that cannot move is left untouched.
    """
    mapping = dict(mapping or {})
    version_id = target_version.pk if isinstance(target_version, WorkflowVersion) else target_version
    plan: MigrationPlan | None = None
    try:
        with transaction.atomic(), locked_run(instance_id, actor=actor) as run:
            instance = run.instance
            if authorize is not None and not authorize(instance):
                raise PermissionDenied(f"You need the operate permission on {instance.workflow.name}.")
            target = WorkflowVersion.objects.filter(pk=version_id).first()
            current_number = (
                WorkflowVersion.objects.values_list("number", flat=True)
                .filter(pk=instance.version_id)
                .first()
            )
            plan = MigrationPlan(
                instance.id,
                instance.reference,
                instance.title,
                current_number,
                target.number if target else None,
            )
            if target is None or target.workflow_id != instance.workflow_id:
                plan.problems.append("The chosen version is not a version of this workflow.")
            elif target.status != WorkflowVersion.Status.PUBLISHED:
                plan.problems.append(f"Version {target.number or '(draft)'} is not published.")
            elif target.pk == instance.version_id:
                plan.problems.append(f"It already runs on version {target.number}.")
            elif instance.status != ProcessInstance.Status.RUNNING:
                plan.problems.append(
                    f"It is {instance.get_status_display().lower()}: only running requests move."
                )
            if plan.problems:
                raise _DryRun
            assert target is not None
            steps = list(
                Step.objects.select_for_update()
                .filter(instance=instance, status__in=Step.OPEN_STATUSES)
                .order_by("created_at", "id")
            )
            target_graph = graph_for(target.pk, target.checksum)
            plan.moves, plan.problems = plan_steps(steps, target_graph, mapping)
            if plan.problems:
                raise _DryRun
            _move(run, instance, target, target_graph, steps, plan, reason)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    assert plan is not None
    plan.moved = plan.can_move and not dry_run
    return plan


def _move(
    run: Run,
    instance: ProcessInstance,
    target: WorkflowVersion,
    target_graph: Graph,
    steps: list[Step],
    plan: MigrationPlan,
    reason: str,
) -> None:
    by_step = {move.step_id: move for move in plan.moves}
    renamed = []
    for step in steps:
        move = by_step[step.id]
        if move.target_id != step.node_id:
            # Only the step's own message wait follows it ("First event wins" subscriptions name their Waits).
            MessageSubscription.objects.filter(step=step, node_id=step.node_id).update(node_id=move.target_id)
            step.node_id = move.target_id
            step.node_name = target_graph["nodes"][move.target_id].get("name") or ""
            renamed.append(step)
    if renamed:
        Step.objects.bulk_update(renamed, ["node_id", "node_name"])
    ProcessInstance.objects.filter(pk=instance.pk).update(version=target)
    instance.version = target
    run.graph = target_graph
    changed = {m.node_id: m.target_id for m in plan.moves if m.node_id != m.target_id}
    because = f": {reason}" if reason else ""
    chosen = "; ".join(
        f"{m.node_name} continues at {m.target_name}" for m in plan.moves if m.node_id != m.target_id
    )
    run.event(
        "instance.migrated",
        f"Moved from version {plan.from_version} to version {plan.to_version}"
        f"{f' ({chosen})' if chosen else ''}{because}",
        data={
            "from_version": plan.from_version,
            "to_version": plan.to_version,
            "mapping": changed,
            "steps": {m.node_id: m.target_id for m in plan.moves},
            "reason": reason,
        },
    )
