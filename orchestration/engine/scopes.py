"""Steps inside steps, and cancelling a step with everything attached to it and inside it.

A step made inside a Group or a For each points at that step (``Step.scope``). Variables are
shared with the whole instance (a Group has no variables of its own); a For each item also sees
its item under the loop's item name (:func:`locals_for`), and only there. A Group completes when
the last step open inside it closes without a token left (:func:`leave`).

:func:`cancel_steps` is the one way work is stopped before it completes: cancelling an instance,
moving a token, a "Stop everything" end, an interrupting event on a step's edge, a For each that
stops early. What a cancelled step leaves behind is closed in the same transaction: its approval
tasks (through the people provider, so they leave inboxes), timers, message subscriptions, queued
work, open incidents, and the steps running inside it. Child instances it called are returned, to
be cancelled after the commit (:func:`cancel_children_after_commit`: they lock their own rows).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import transaction

from orchestration.engine.blocks import block_for
from orchestration.engine.transitions import STEP, move
from orchestration.models import Incident, MessageSubscription, Outbox, ProcessInstance, Step, Timer

if TYPE_CHECKING:
    from orchestration.engine.context import Run, Token

__all__ = ["cancel_children_after_commit", "cancel_steps", "leave", "locals_for", "open_steps", "scope_step"]


def scope_step(run: Run, step_id: int) -> Step:
    """The Group or For each step ``step_id``, read once per run (the caller holds the instance lock)."""
    step = run.scope_steps.get(step_id)
    if step is None:
        step = Step.objects.get(id=step_id, instance=run.instance)
        run.scope_steps[step_id] = step
    return step


def locals_for(run: Run, step: Step) -> dict[str, Any]:
    """What ``step`` sees besides the instance's variables: the item of each For each it is inside.

    The innermost For each wins when two use the same item name.
    """
    values: dict[str, Any] = {}
    current: Step | None = step
    while current is not None and current.scope_id is not None:
        host = scope_step(run, current.scope_id)
        if current.loop_index is not None:
            loop = run.graph["nodes"][current.node_id]["loop"]
            items = (host.input or {}).get("items", [])
            if current.loop_index < len(items):
                values.setdefault(loop["item"], items[current.loop_index])
        current = host
    return values


def _open_inside(run: Run, scope_id: int) -> bool:
    if any(s.scope_id == scope_id and s.status in Step.OPEN_STATUSES for s in run.created):
        return True
    if run.fresh:
        return False  # every step of a new instance is one this run made
    made_here = [s.pk for s in run.created if s.pk is not None]
    return (
        Step.objects.filter(scope_id=scope_id, status__in=Step.OPEN_STATUSES)
        .exclude(id__in=made_here)
        .exists()
    )


def leave(run: Run, scope_id: int) -> list[Token]:
    """A path inside Group step ``scope_id`` ended: complete the Group if nothing inside is still open.

    Returns the tokens the Group emits (none while something inside is open).
    """
    from orchestration.engine.runtime import complete_scope

    host = scope_step(run, scope_id)
    if host.status not in Step.OPEN_STATUSES or _open_inside(run, scope_id):
        return []
    if host.loop_index is None and "loop" in run.graph["nodes"][host.node_id]:
        return []  # a For each completes through its items (loops.item_done), never here
    run.event("group.completed", f"{host.node_name or host.node_id} done", step=host)
    return complete_scope(run, host)


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
    # Nor may a Group or For each step this run holds be completed later in the run once cancelled.
    for held_id, held in run.scope_steps.items():
        if held_id in gone and held.status in Step.OPEN_STATUSES:
            move(held, Step.Status.CANCELLED)
            held.ended_at = run.now
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


def cancel_children_after_commit(children: list[Any], reason: str) -> None:
    """Cancel the child instances ``children`` once this transaction commits (after the parent's lock)."""
    if children:
        transaction.on_commit(partial(_cancel_children, children, reason))


def _cancel_children(children: list[Any], reason: str) -> None:
    from orchestration.engine.operations import cancel_instance
    from orchestration.engine.runtime import InvalidState

    for child_id in children:
        try:
            cancel_instance(child_id, reason=reason)
        except InvalidState:
            pass  # finished in the meantime
