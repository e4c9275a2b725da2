"""What the live view shows on a published diagram: where running instances wait, and one instance's path."""

from __future__ import annotations

from typing import Any, TypedDict

from django.db.models import Count

from orchestration.engine import chosen_words
from orchestration.engine.dry_run import trail
from orchestration.models import ProcessInstance, Step, WorkflowVersion
from orchestration.step_names import step_titles
from orchestration.templatetags.moments import when


class BlockCount(TypedDict):
    """Running instances at one block: all of them, and those stuck on an incident."""

    waiting: int
    incidents: int


class InstancePath(TypedDict):
    """The blocks and flows one instance went through, and where it is now."""

    id: str
    status: str
    version: int | None
    visited: list[str]
    flows: list[str]
    current: list[str]
    incidents: list[str]
    steps: list[dict[str, Any]]


def waiting_counts(version: WorkflowVersion) -> dict[str, BlockCount]:
    """Running instances of ``version`` with an open step at each block (one query).

    An instance counts once per block even when several tokens wait there.
    """
    rows = (
        Step.objects.filter(
            instance__version=version,
            instance__status=ProcessInstance.Status.RUNNING,
            status__in=Step.OPEN_STATUSES,
        )
        .values("node_id", "status")
        .annotate(instances=Count("instance", distinct=True))
    )
    counts: dict[str, BlockCount] = {}
    for row in rows:
        count = counts.setdefault(row["node_id"], {"waiting": 0, "incidents": 0})
        count["waiting"] += row["instances"]
        if row["status"] == Step.Status.INCIDENT:
            count["incidents"] += row["instances"]
    return counts


def running_total(version: WorkflowVersion) -> int:
    """How many instances of ``version`` are running."""
    return ProcessInstance.objects.filter(version=version, status=ProcessInstance.Status.RUNNING).count()


def instance_path(instance: ProcessInstance, *, ai_choices: bool = True) -> InstancePath:
    """The blocks ``instance`` visited (in order), the flows its tokens took, and its open steps.

    With ``ai_choices`` (for people who operate the workflow, as for an AI step's answers), a
    Decision the AI decided says which path it chose and why.
    """
    steps: list[dict[str, Any]] = []
    rows = list(instance.steps.order_by("created_at", "id"))
    titles = step_titles(rows, instance.version.graph)
    marks = trail(rows)
    for step in rows:
        steps.append(
            {
                "node_id": step.node_id,
                "name": titles.get(step.pk, step.node_name or step.node_id),
                "status": step.status,
                "status_label": step.get_status_display(),
                "at": (step.ended_at or step.started_at or step.created_at).isoformat(),
                "at_text": when(step.ended_at or step.started_at or step.created_at),
                "decided": chosen_words(step.output)
                if ai_choices and step.kind == "exclusive" and step.output
                else "",
            }
        )
    return {
        "id": str(instance.pk),
        "status": instance.status,
        "version": instance.version.number,
        **marks,
        "steps": steps,
    }
