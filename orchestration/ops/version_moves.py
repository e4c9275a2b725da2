"""Move running requests of one workflow version to a newer published version, a selection at a time.

The operator picks the running requests of a version (optionally narrowed by the request
list's filters), a target version, and where each block the target lacks continues. A dry
run asks the engine's :func:`~orchestration.engine.migrate_instance` for each request with
``dry_run`` (the same code, rolled back); applying calls it for real, one transaction and
one lock per request, each move an event. A request that cannot move is reported with why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Count, QuerySet

from orchestration.access import access_workflow, can_operate
from orchestration.engine import MigrationPlan, migrate_instance
from orchestration.engine.blocks import registered
from orchestration.engine.graphs import graph_for
from orchestration.engine.migration import StepMove
from orchestration.models import ProcessInstance, Step, Workflow, WorkflowVersion

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from orchestration.bpmn.graph import Graph

# Requests moved (or tried in a dry run) per call; the rest are left for the next call.
BULK_LIMIT = 500


class MoveRefused(ValueError):
    """The selection cannot be moved at all (no such version…): ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Block:
    """A block the selected requests wait at that the target version lacks (or has as another kind)."""

    node_id: str
    name: str
    kind: str
    kind_label: str
    # The target's blocks of the same kind a request there may continue at: (id, name).
    choices: list[tuple[str, str]]


@dataclass
class MoveResult:
    """What moving (or a dry run of) a selection did, request by request."""

    dry_run: bool
    plans: list[MigrationPlan] = field(default_factory=list)
    left: int = 0

    @property
    def movable(self) -> list[MigrationPlan]:
        return [plan for plan in self.plans if plan.can_move]

    @property
    def refused(self) -> list[MigrationPlan]:
        return [plan for plan in self.plans if not plan.can_move]

    @property
    def by_step(self) -> list[tuple[str, str, bool, int]]:
        """(waiting at, continues at, chosen by the operator, requests) over the movable requests, most first."""
        counted = Counter(
            (move.node_name, move.target_name, move.node_id != move.target_id)
            for plan in self.movable
            for move in plan.moves
        )
        return [(*key, count) for key, count in counted.most_common()]

    @property
    def summary(self) -> str:
        count = len(self.movable)
        requests = f"{count} request{'s' if count != 1 else ''}"
        said = f"{requests} can move" if self.dry_run else f"{requests} moved"
        if self.refused:
            said += f"; {len(self.refused)} cannot move"
        if self.left:
            said += f"; {self.left} more left for another run"
        return said + "."


def stored(result: MoveResult) -> dict[str, Any]:
    """``result`` as JSON-ready data, kept in the session between a move and the page showing it."""
    data = asdict(result)
    for plan in data["plans"]:
        plan["instance_id"] = str(plan["instance_id"])
    return data


def restored(data: dict[str, Any]) -> MoveResult:
    """The :class:`MoveResult` that :func:`stored` wrote."""
    plans = [
        MigrationPlan(**{**plan, "moves": [StepMove(**move) for move in plan["moves"]]})
        for plan in data["plans"]
    ]
    return MoveResult(dry_run=data["dry_run"], plans=plans, left=data["left"])


def version_counts(workflow: Workflow) -> list[tuple[int, int]]:
    """(version number, running requests) of the versions of ``workflow`` that still have running requests."""
    rows = (
        ProcessInstance.objects.filter(workflow=workflow, status=ProcessInstance.Status.RUNNING)
        .values("version__number")
        .annotate(running=Count("id"))
        .order_by("version__number")
    )
    return [(row["version__number"] or 0, row["running"]) for row in rows]


def target_versions(workflow: Workflow) -> QuerySet[WorkflowVersion]:
    """The versions requests may be moved to: the published ones, newest first."""
    return workflow.versions.filter(status=WorkflowVersion.Status.PUBLISHED).order_by("-number")


def selection(
    workflow: Workflow, version: int, narrowed: QuerySet[ProcessInstance] | None = None
) -> QuerySet[ProcessInstance]:
    """The running requests of ``workflow`` on ``version``, within ``narrowed`` (the list's filters) if given."""
    instances = narrowed if narrowed is not None else ProcessInstance.objects.all()
    return instances.filter(
        workflow=workflow, version__number=version, status=ProcessInstance.Status.RUNNING
    ).order_by("started_at", "id")


def _target(workflow: Workflow, number: int) -> WorkflowVersion:
    target = target_versions(workflow).filter(number=number).first()
    if target is None:
        raise MoveRefused("target", f"{workflow.name} has no published version {number}.")
    return target


def _graph(version: WorkflowVersion) -> Graph:
    return graph_for(version.pk, version.checksum)


def unmatched_blocks(instances: QuerySet[ProcessInstance], target: WorkflowVersion) -> list[Block]:
    """The blocks the selected requests wait at that ``target`` lacks or has as another kind."""
    nodes = _graph(target)["nodes"]
    waiting = (
        Step.objects.filter(instance__in=instances.values("pk"), status__in=Step.OPEN_STATUSES)
        .values_list("node_id", "node_name", "kind")
        .distinct()
        .order_by("node_id")
    )
    blocks: dict[str, Block] = {}
    for node_id, name, kind in waiting:
        node = nodes.get(node_id)
        if node_id in blocks or (node is not None and node["kind"] == kind):
            continue
        known = registered(kind)
        choices = [
            (other["id"], other.get("name") or other["id"])
            for other in nodes.values()
            if other["kind"] == kind
        ]
        blocks[node_id] = Block(node_id, name or node_id, kind, known.label if known else kind, choices)
    return list(blocks.values())


def clean_mapping(mapping: dict[str, str], blocks: list[Block]) -> dict[str, str]:
    """``mapping`` checked against the blocks that need one: MoveRefused naming the block otherwise."""
    offered = {block.node_id: {choice for choice, _ in block.choices} for block in blocks}
    cleaned: dict[str, str] = {}
    for source, chosen in mapping.items():
        if not chosen:
            continue
        if source not in offered:
            raise MoveRefused(
                "mapping", f"No selected request waits at a block {source!r} that needs a new place."
            )
        if chosen not in offered[source]:
            raise MoveRefused("mapping", f"{chosen!r} is not a block of the same kind in the new version.")
        cleaned[source] = chosen
    return cleaned


def move_requests(
    user: AbstractBaseUser,
    workflow_key: str,
    version: int,
    target: int,
    mapping: dict[str, str] | None = None,
    *,
    reason: str = "",
    dry_run: bool = False,
    narrowed: QuerySet[ProcessInstance] | None = None,
) -> MoveResult:
    """Move (or try, with ``dry_run``) the selected running requests to version ``target``.

    Http404 when ``user`` cannot see the workflow, PermissionDenied without the operate
    right; MoveRefused for a target that is not a published version of it, or a mapping to
    a block that does not fit. At most :data:`BULK_LIMIT` requests per call, oldest first.
    """
    workflow = access_workflow(user, workflow_key, "change_workflow")
    chosen = _target(workflow, target)
    if chosen.number == version:
        raise MoveRefused("target", f"The requests already run on version {version}.")
    instances = selection(workflow, version, narrowed)
    mapping = clean_mapping(mapping or {}, unmatched_blocks(instances, chosen))
    ids = list(instances.values_list("id", flat=True)[: BULK_LIMIT + 1])
    result = MoveResult(dry_run=dry_run, left=max(0, len(ids) - BULK_LIMIT))
    if result.left:
        result.left = instances.count() - BULK_LIMIT

    def authorize(instance: Any) -> bool:
        return can_operate(user, instance)

    for instance_id in ids[:BULK_LIMIT]:
        result.plans.append(
            migrate_instance(
                instance_id, chosen, mapping, actor=user, reason=reason, dry_run=dry_run, authorize=authorize
            )
        )
    return result
