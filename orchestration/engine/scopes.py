"""Steps inside steps: Groups (embedded sub-processes) and For each items, and cancelling a step with all it holds.

A step made inside a Group or a For each points at that step (``Step.scope``). Variables
are shared with the whole instance (a Group has no variables of its own); a For each item
additionally sees its item under the loop's item name (:func:`locals_for`), and only there.
A Group completes when the last step open inside it closes without a token left (an End
inside it, or a path that stops); cancelling a step cancels everything open inside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from orchestration.engine.human import provider
from orchestration.engine.writes import close_steps
from orchestration.models import Incident, MessageSubscription, Outbox, ProcessInstance, Step, Timer

if TYPE_CHECKING:
    from orchestration.engine.context import Run, Token

__all__ = ["cancel_steps", "leave", "locals_for", "scope_step"]


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


def _inside(run: Run, steps: list[Step]) -> list[Step]:
    """``steps`` and every open step inside them, however deep (created by this run or stored)."""
    found = {id(s): s for s in steps}
    frontier = [s.pk for s in steps if s.pk is not None]
    while frontier:
        inner = [s for s in run.created if s.scope_id in frontier and s.status in Step.OPEN_STATUSES]
        known = {s.pk for s in inner if s.pk is not None}
        inner += list(
            Step.objects.filter(scope_id__in=frontier, status__in=Step.OPEN_STATUSES).exclude(id__in=known)
        )
        frontier = []
        for step in inner:
            if id(step) not in found and all(step.pk is None or step.pk != s.pk for s in found.values()):
                found[id(step)] = step
                if step.pk is not None:
                    frontier.append(step.pk)
    return list(found.values())


def cancel_steps(run: Run, steps: list[Step], *, reason: str) -> list[Any]:
    """Cancel open ``steps`` and everything open inside them, with what each waits for.

    Approval tasks are cancelled (they leave the inboxes), timers cancelled, message waits,
    queued work and open incidents closed; a worker's late result for a step is ignored. The
    sub-processes they called are cancelled after the commit (their lock comes after ours);
    their ids are returned.
    """
    cancelled = [s for s in _inside(run, steps) if s.status in Step.OPEN_STATUSES]
    if not cancelled:
        return []
    for step in cancelled:
        if step.kind == "user_task" and step.status == Step.Status.WAITING and step.pk is not None:
            provider().cancel_tasks(run, step)
    ids = [s.pk for s in cancelled if s.pk is not None]
    close_steps(run, cancelled, Step.Status.CANCELLED)
    children: list[Any] = []
    if ids:
        Timer.objects.filter(step_id__in=ids, fired_at__isnull=True, cancelled_at__isnull=True).update(
            cancelled_at=run.now
        )
        MessageSubscription.objects.filter(step_id__in=ids).delete()
        Outbox.objects.filter(step_id__in=ids).delete()
        Incident.objects.filter(step_id__in=ids, resolved_at__isnull=True).update(
            resolved_at=run.now, resolution=Incident.Resolution.CANCELLED
        )
        run.instance.has_incident = Incident.objects.filter(
            instance=run.instance, resolved_at__isnull=True
        ).exists()
        children = list(
            ProcessInstance.objects.filter(
                parent_step_id__in=ids, status=ProcessInstance.Status.RUNNING
            ).values_list("id", flat=True)
        )
    if children:
        transaction.on_commit(lambda: _cancel_children(children, reason))
    return children


def _cancel_children(children: list[Any], reason: str) -> None:
    from orchestration.engine.operations import cancel_instance
    from orchestration.engine.runtime import InvalidState

    for child_id in children:
        try:
            cancel_instance(child_id, reason=reason)
        except InvalidState:
            pass  # finished in the meantime
