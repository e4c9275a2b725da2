"""Tool calls of a running AI step: kept as they finish, so a retried step reuses them.

An Ask AI step may let its model call connectors as tools (``orchestration.connectors.ai_tools``).
Each call has a side effect in another system, so it is recorded the moment it finishes, as a
``step.tool_call`` Event of the step (the audit people read in the request's history), and a
later attempt of the same step (its worker killed mid-conversation, or a retry after a server
error) finds the calls already made and reuses their results instead of calling again.

The connector only knows its step by the step's idempotency key: :func:`running_step` finds the
step a worker holds under that key (running steps are few; the status index finds them). Writing
an Event changes no state, so no instance lock is taken; only the AI step pays these statements.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

from orchestration.models import Event, Step

KIND: Final = "step.tool_call"


@dataclass(frozen=True)
class RunningStep:
    """The step a worker runs, as a tool call's record needs it."""

    id: int
    instance_id: uuid.UUID
    workflow_id: int
    name: str
    attempt: int


def running_step(idempotency_key: str) -> RunningStep | None:
    """The running step whose idempotency key is ``idempotency_key``; None outside a worker's step."""
    try:
        key = uuid.UUID(idempotency_key)
    except ValueError:
        return None
    found = (
        Step.objects.filter(status=Step.Status.RUNNING, idempotency_key=key)
        .values("id", "instance_id", "instance__workflow_id", "node_name", "node_id", "attempt")
        .first()
    )
    if found is None:
        return None
    return RunningStep(
        found["id"],
        found["instance_id"],
        found["instance__workflow_id"],
        found["node_name"] or found["node_id"],
        found["attempt"],
    )


def recorded_calls(step: RunningStep) -> dict[int, list[dict[str, Any]]]:
    """The tool calls earlier attempts of ``step`` made, by their position in the conversation, oldest first
    (several when the step's data changed between attempts and the model asked differently)."""
    calls: dict[int, list[dict[str, Any]]] = {}
    events = Event.objects.filter(instance_id=step.instance_id, step_id=step.id, kind=KIND).order_by("id")
    for data in events.values_list("data", flat=True):
        if isinstance(data, dict) and isinstance(data.get("position"), int):
            calls.setdefault(data["position"], []).append(data)
    return calls


def record_call(step: RunningStep, call: dict[str, Any], message: str) -> None:
    """Keep one finished tool call of ``step`` (``call``: position, tool, label, arguments, result or
    error, key, duration) as a history Event; ``message`` says it in plain words. No secret may be in it.
    """
    Event.objects.create(
        instance_id=step.instance_id,
        workflow_id=step.workflow_id,
        step_id=step.id,
        kind=KIND,
        actor_label="worker",
        message=f"{step.name}: {message}"[:500],
        data={**call, "attempt": step.attempt},
    )
