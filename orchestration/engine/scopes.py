"""Cancelling steps together with everything attached to them and inside them.

One function for every way work is stopped before it completes: cancelling an instance,
moving a token, a "Stop everything" end, and (built on it) an interrupting boundary or a
Group ending early. What a cancelled step leaves behind is closed in the same transaction:
its approval tasks (through the people provider, so they leave inboxes), timers, message
subscriptions, queued work, open incidents, and the steps running inside it (a Group's,
a "For each"'s). Child instances it called are returned, to be cancelled after the commit
(they lock their own instance rows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestration.engine.blocks import block_for
from orchestration.engine.transitions import STEP, move
from orchestration.models import Incident, MessageSubscription, Outbox, ProcessInstance, Step, Timer

if TYPE_CHECKING:
    from orchestration.engine.context import Run

__all__ = ["cancel_steps", "open_steps"]


def open_steps(run: Run) -> list[Step]:
    """The instance's open steps, as this run holds them (its own step objects win over fresh reads).

    The caller holds the instance lock, so no other run changes them meanwhile.
    """
    mine = [step for step in run.created if step.is_open]
    if run.fresh:
        return mine  # nothing of this instance is in the database but what this run wrote
    held = {step.pk for step in run.created if step.pk is not None}
    stored = Step.objects.filter(instance=run.instance, status__in=Step.OPEN_STATUSES).exclude(pk__in=held)
    return [*stored, *mine]


def _with_inner(run: Run, steps: list[Step]) -> list[Step]:
    """``steps`` and the open steps inside them (``scope``), recursively, each once."""
    found = list(steps)
    seen = {id(step) for step in found}
    ids = {step.pk for step in found if step.pk is not None}
    frontier = set(ids)
    while frontier:
        mine = [s for s in run.created if s.is_open and s.scope_id in frontier and id(s) not in seen]
        held = {s.pk for s in run.created if s.pk is not None}
        stored = list(
            Step.objects.filter(scope_id__in=frontier, status__in=Step.OPEN_STATUSES).exclude(
                pk__in=ids | held
            )
        )
        inner = [*stored, *mine]
        found.extend(inner)
        seen.update(id(s) for s in inner)
        frontier = {s.pk for s in inner if s.pk is not None} - ids
        ids |= frontier
    return found


def cancel_steps(run: Run, steps: list[Step], *, reason: str) -> list[Any]:
    """Cancel the open ``steps`` and every open step inside them, with all that is attached to them.

    Each step's block is told first (:meth:`Block.cancel`: an Approval closes its tasks, so they
    leave inboxes); then the steps are cancelled and their timers, message subscriptions,
    outbox rows and open incidents closed. A worker still running a cancelled step finds it
    cancelled when it reports and its result is ignored. ``reason`` is recorded in the history.
    Returns the ids of the running child instances the cancelled steps called: the caller
    cancels them once this transaction commits. The caller holds the instance lock.
    """
    cancelled = [step for step in _with_inner(run, steps) if step.is_open]
    if not cancelled:
        return []
    for step in cancelled:
        block_for(step.kind).cancel(run, step)
    ids = [step.pk for step in cancelled if step.pk is not None]
    created = {id(step) for step in run.created}
    for step in cancelled:
        if step.pk is not None and id(step) not in created:
            run.closed.add(step.pk)  # lets finishing count the open steps left without a query
        move(step, Step.Status.CANCELLED)
        step.ended_at = run.now
        step.lease_until = None
    # Join arrivals this run read must not be consumed once cancelled (they may be other objects).
    gone = set(ids)
    for arrivals in run.arrivals.values():
        arrivals[:] = [step for step in arrivals if step.is_open and step.pk not in gone]
    children: list[Any] = []
    if ids:
        STEP.bulk_move(
            Step.objects.filter(id__in=ids), Step.Status.CANCELLED, ended_at=run.now, lease_until=None
        )
        Timer.objects.filter(step_id__in=ids, fired_at__isnull=True, cancelled_at__isnull=True).update(
            cancelled_at=run.now
        )
        MessageSubscription.objects.filter(step_id__in=ids).delete()
        Outbox.objects.filter(step_id__in=ids).delete()
        resolved = Incident.objects.filter(step_id__in=ids, resolved_at__isnull=True).update(
            resolved_at=run.now, resolution=Incident.Resolution.CANCELLED
        )
        if resolved:
            run.instance.has_incident = Incident.objects.filter(
                instance=run.instance, resolved_at__isnull=True
            ).exists()
        children = list(
            ProcessInstance.objects.filter(
                parent_step_id__in=ids, status=ProcessInstance.Status.RUNNING
            ).values_list("id", flat=True)
        )
    names = [step.node_name or step.node_id for step in cancelled]
    run.event(
        "steps.cancelled",
        f"Stopped {_listing(names)}{f': {reason}' if reason else ''}",
        data={"steps": [step.node_id for step in cancelled], "reason": reason},
    )
    return children


def _listing(names: list[str]) -> str:
    if len(names) <= 3:
        return ", ".join(names)
    return f"{', '.join(names[:3])} and {len(names) - 3} more"
