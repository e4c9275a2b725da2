"""Hand steps to Celery through the outbox.

The Outbox row is written in the step's transaction; the Celery message is sent
after commit. If the message never arrives (broker lost it, process died between
commit and publish, worker killed mid-step), the relay publishes it again once
``republish_at`` passes. Duplicates are harmless: a worker claims a step with a
conditional UPDATE on its status and attempt, so only one runs it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from orchestration.engine.transitions import move
from orchestration.models import Outbox, Step

if TYPE_CHECKING:
    from orchestration.engine.context import Run

logger = logging.getLogger(__name__)

RELAY_BATCH = 200


def _grace() -> timedelta:
    return timedelta(seconds=settings.BATON_DISPATCH_GRACE_SECONDS)


def queue_for_worker(run: Run, step: Step, *, attempt: int) -> None:
    """Mark ``step`` queued for ``attempt`` and write its outbox row; publish on commit."""
    move(step, Step.Status.QUEUED)
    step.attempt = attempt
    step.lease_until = None
    step.save()
    # The worker deletes the row when it reports back, so a step has at most one.
    Outbox.objects.create(step=step, attempt=attempt, republish_at=run.now + _grace())
    run.dispatch.append((step.id, attempt))


def publish(items: list[tuple[int, int]]) -> None:
    """Send ``run_step`` messages; a failure is logged and left to the relay."""
    from orchestration.tasks import run_step

    for step_id, attempt in items:
        try:
            run_step.apply_async(args=[step_id, attempt])
        except Exception:
            # The outbox row stays; the relay publishes it again after the grace period.
            logger.exception("Could not publish step %s attempt %s; the relay will retry", step_id, attempt)


def publish_on_commit(items: list[tuple[int, int]]) -> None:
    if items:
        batch = list(items)
        transaction.on_commit(lambda: publish(batch))


def relay_outbox(now: datetime | None = None) -> int:
    """Publish again the outbox rows whose step nobody has picked up in time.

    Returns how many messages were published. Safe to run in several processes:
    rows are claimed with ``FOR UPDATE SKIP LOCKED``.
    """
    now = now or timezone.now()
    to_publish: list[tuple[int, int]] = []
    lost: list[tuple[int, int, Any]] = []
    with transaction.atomic():
        rows = list(
            Outbox.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("step")
            .filter(republish_at__lte=now)
            .order_by("republish_at")[:RELAY_BATCH]
        )
        stale = []
        for row in rows:
            step = row.step
            lease_over = step.lease_until is None or step.lease_until <= now
            if step.attempt != row.attempt or step.status not in (Step.Status.QUEUED, Step.Status.RUNNING):
                stale.append(row.id)
            elif step.status == Step.Status.RUNNING and step.lease_until and not lease_over:
                row.republish_at = step.lease_until
                row.save(update_fields=["republish_at"])
            elif step.status == Step.Status.RUNNING:
                lost.append((step.id, step.attempt, step.instance_id))
            else:
                # Back off per republish: under a backlog, unclaimed rows must not flood the queue.
                row.republish_at = now + _grace() * min(2**row.publish_count, 64)
                row.publish_count += 1
                row.save(update_fields=["republish_at", "publish_count"])
                to_publish.append((step.id, row.attempt))
        if stale:
            Outbox.objects.filter(id__in=stale).delete()
    if to_publish:
        logger.info("Relay republishing %d step(s)", len(to_publish))
        publish(to_publish)
    if lost:
        from orchestration.engine.worker import fail_step

        for step_id, attempt, instance_id in lost:
            # The worker died or hung: that attempt failed. Retries are bounded, so a step that
            # kills every worker ends as an incident instead of being re-run forever.
            fail_step(
                step_id,
                attempt,
                "The worker running this step stopped answering (lease expired).",
                retryable=True,
                instance_id=instance_id,
            )
    return len(to_publish) + len(lost)


def claimable(step_id: int, attempt: int) -> Q:
    """The condition under which a worker may claim ``step_id`` for ``attempt``."""
    return Q(id=step_id, attempt=attempt, status=Step.Status.QUEUED)
