"""What a run writes, and when: steps made by a run are kept and written together.

A run (one transaction under the instance lock) makes steps as tokens move. Most of
them complete in the same run, so they are written once, with their final state,
in one INSERT when the run finishes. A block that writes rows pointing at its step
(an approval task, a timer, a subscription) writes its step first (:func:`write_step`);
the steps made before it are written then too, so step ids follow the path taken.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from orchestration.engine.transitions import move
from orchestration.models import Outbox, Step

if TYPE_CHECKING:
    from orchestration.engine.context import Run

__all__ = ["close_steps", "lock_step", "waiting_arrivals", "write_step", "write_steps"]


def lock_step(run: Run, step_id: int) -> Step:
    """Row-lock step ``step_id`` of the run's instance (the caller holds the instance lock).

    The same statement counts the instance's open steps, when this run has changed none
    yet, so that finishing knows whether any is left without asking again.
    """
    counting = run.open_counted is None and not run.created and not run.closed
    steps = Step.objects.select_for_update(of=("self",))
    if counting:
        open_steps = (
            Step.objects.filter(instance_id=OuterRef("instance_id"), status__in=Step.OPEN_STATUSES)
            .order_by()
            .values("instance_id")
            .annotate(n=Count("*"))
            .values("n")
        )
        steps = steps.annotate(open_steps=Coalesce(Subquery(open_steps), 0))
    step = steps.get(id=step_id, instance=run.instance)
    if counting:
        run.open_counted = step.open_steps  # type: ignore[attr-defined]
    return step


def write_steps(run: Run, *, keep: Step | None = None) -> None:
    """Write the steps this run made and has not written yet, then the outbox rows pointing at them.

    One INSERT for the steps (in the order they were made, so ids follow the path) and one
    for the outbox rows. ``keep`` stays unwritten (the block about to run writes it).
    """
    steps = [step for step in run.pending if step is not keep]
    if steps:
        Step.objects.bulk_create(steps)
        run.pending = [step for step in run.pending if step is keep]
    if run.pending_outbox:
        Outbox.objects.bulk_create(run.pending_outbox)
        run.pending_outbox = []


def write_step(run: Run, step: Step, fields: list[str]) -> None:
    """Write ``step`` now: inserted if this run made it and has not written it, else its ``fields`` updated."""
    if step.pk is None:
        write_steps(run)
    else:
        step.save(update_fields=fields)


def close_steps(run: Run, steps: list[Step], status: str) -> None:
    """Move ``steps`` (open, loaded or made by this run) to the closed ``status``; written at once or with the run's new steps."""
    written = []
    for step in steps:
        if (
            step.pk is not None
            and step.status in Step.OPEN_STATUSES
            and all(step is not s for s in run.created)
        ):
            run.closed.add(step.pk)
        move(step, status)
        step.ended_at = run.now
        if step.pk is not None:
            written.append(step)
    if len(written) == 1:
        written[0].save()
    elif written:
        for step in written:
            step.save(update_fields=["status", "ended_at"])


def waiting_arrivals(run: Run, node_id: str) -> list[Step]:
    """The steps waiting at join ``node_id`` (oldest first), read from the database once per run.

    The run keeps the list: a block appends the arrivals it leaves waiting and removes those it consumes.
    """
    if node_id not in run.arrivals:
        run.arrivals[node_id] = (
            []
            if run.fresh
            else list(
                Step.objects.filter(
                    instance=run.instance, node_id=node_id, status=Step.Status.WAITING
                ).order_by("id")
            )
        )
    return run.arrivals[node_id]
