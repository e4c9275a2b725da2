"""What the operations console reads about instances: list rows, counts per status, plain words.

Queries only; every change goes through the engine's actions (:mod:`orchestration.engine.operations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from orchestration.models import ProcessInstance, Step

_OPEN_STEPS = Prefetch(
    "steps",
    queryset=Step.objects.filter(status__in=Step.OPEN_STATUSES).order_by("created_at", "id"),
    to_attr="open_steps",
)

# What a request waits for, in words, by the open step's status (and its block kind when waiting).
_WAITING_KIND = {
    "user_task": "Approval",
    "timer_catch": "Waiting for a date or time",
    "message_catch": "Waiting for a message",
    "call_activity": "Waiting for a sub-process",
}
_BY_STATUS: dict[str, str] = {
    Step.Status.INCIDENT: "Needs attention",
    Step.Status.QUEUED: "Working",
    Step.Status.RUNNING: "Working",
    Step.Status.ACTIVE: "Working",
    Step.Status.RETRY_WAIT: "Trying again soon",
}


@dataclass(frozen=True)
class Waiting:
    """One open step as an operator reads it: what kind of wait, at which step."""

    node_id: str
    step: str
    what: str
    incident: bool


def listed(instances: QuerySet[ProcessInstance]) -> QuerySet[ProcessInstance]:
    """``instances`` with what a list row shows: two queries per page whatever its length."""
    return instances.select_related("workflow", "version", "initiator").prefetch_related(_OPEN_STEPS)


def waiting(step: Step) -> Waiting:
    """Where and for what ``step`` (an open one) holds the request, in plain words."""
    if step.status == Step.Status.WAITING:
        what = _WAITING_KIND.get(step.kind, "Waiting")
    else:
        what = _BY_STATUS.get(step.status, step.get_status_display())
    return Waiting(step.node_id, step.node_name or step.node_id, what, step.status == Step.Status.INCIDENT)


def waiting_at(instance: ProcessInstance) -> list[Waiting]:
    """The open steps of a ``listed`` instance (prefetched), in plain words."""
    return [waiting(step) for step in getattr(instance, "open_steps", [])]


def status_counts(instances: QuerySet[ProcessInstance]) -> dict[str, int]:
    """How many of ``instances`` are running, need attention, completed, cancelled, and in all (one query)."""
    running = ProcessInstance.Status.RUNNING
    counts: dict[str, Any] = instances.order_by().aggregate(
        all=Count("pk"),
        running=Count("pk", filter=Q(status=running)),
        attention=Count("pk", filter=Q(status=running, has_incident=True)),
        completed=Count("pk", filter=Q(status=ProcessInstance.Status.COMPLETED)),
        cancelled=Count("pk", filter=Q(status=ProcessInstance.Status.CANCELLED)),
    )
    return {name: int(value or 0) for name, value in counts.items()}
