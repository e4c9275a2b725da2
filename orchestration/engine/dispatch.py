"""Hand steps to Celery through the outbox.

The Outbox row is written in the step's transaction; the Celery message is sent
after commit. If the message never arrives (broker lost it, process died between
commit and publish, worker killed mid-step), the relay publishes it again once
``republish_at`` passes, and only if the broker's queue no longer holds as many
messages as there are steps waiting (a backlog is not resent). Duplicates are
harmless: a worker claims a step with a conditional UPDATE on its status and
attempt, so only one runs it.

The same path carries work that is not a step (an approval email): an outbox row
naming a registered Celery task and its arguments, run once by :func:`deliver`
and deleted when done. Its message carries the row's publish count, claimed with
a conditional UPDATE, so a duplicate is dropped as a step's is.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from orchestration.engine.transitions import move
from orchestration.models import Outbox, Step

if TYPE_CHECKING:
    from orchestration.engine.context import Run

logger = logging.getLogger(__name__)

RELAY_BATCH = 200
# A named task that failed this many deliveries is given up (logged), not retried forever.
MAX_DELIVERIES = 10


def _grace() -> timedelta:
    return timedelta(seconds=settings.BATON_DISPATCH_GRACE_SECONDS)


def queue_for_worker(run: Run, step: Step, *, attempt: int) -> None:
    """Mark ``step`` queued for ``attempt`` and write its outbox row; publish on commit.

    A step this run made is written with the run's other new steps, and its outbox row
    right after it (both in the run's transaction, before anything is published).
    """
    move(step, Step.Status.QUEUED)
    step.attempt = attempt
    step.lease_until = None
    republish_at = run.now + _grace()
    if run.take_for_worker and run.taken is None and step.pk is None:
        # The worker finishing this run runs it next: claimed here, leased, not published.
        move(step, Step.Status.RUNNING)
        step.lease_until = republish_at = run.now + timedelta(seconds=settings.BATON_STEP_LEASE_SECONDS)
        step.started_at = run.now
        run.taken = step
    else:
        run.dispatch.append((step, attempt))
    if step.pk is not None:
        step.save()
    # The worker deletes the row when it reports back, so a step has at most one.
    run.pending_outbox.append(Outbox(step=step, attempt=attempt, republish_at=republish_at))


def publish(items: list[tuple[int, int]]) -> None:
    """Send ``run_step`` messages (several over one broker connection); a failure is logged and left to the relay."""
    from orchestration.celery import app
    from orchestration.tasks import run_step

    if len(items) == 1:
        _publish_one(run_step, items[0])
        return
    try:
        with app.producer_or_acquire() as producer:
            for item in items:
                _publish_one(run_step, item, producer=producer)
    except Exception:
        # Acquiring the connection failed: the outbox rows stay and the relay publishes them again.
        logger.exception("Could not publish %d steps; the relay will retry", len(items))


def _publish_one(task: Any, item: tuple[int, int], **options: Any) -> None:
    step_id, attempt = item
    try:
        task.apply_async(args=[step_id, attempt], **options)
    except Exception:
        # The outbox row stays; the relay publishes it again after the grace period.
        logger.exception("Could not publish step %s attempt %s; the relay will retry", step_id, attempt)


def publish_on_commit(items: list[tuple[int, int]]) -> None:
    if items:
        batch = list(items)
        transaction.on_commit(lambda: publish(batch))


def queue_task(name: str, args: list[Any]) -> None:
    """Run the registered Celery task ``name`` with ``args`` once, after the caller's transaction commits.

    The outbox row is written in the caller's transaction (none is opened), so the
    work exists exactly when what it is about does; the relay sends it again if the
    message is lost.
    """
    registered_task(name)
    row = Outbox.objects.create(task=name, args=args, republish_at=timezone.now() + _grace())
    transaction.on_commit(lambda: publish_deliveries([(row.id, 0)]))


def publish_deliveries(items: list[tuple[int, int]]) -> None:
    """Send ``deliver`` messages for (outbox id, publish count); a failure is left to the relay."""
    from orchestration.tasks import deliver_task

    for outbox_id, count in items:
        try:
            deliver_task.apply_async(args=[outbox_id, count])
        except Exception:
            logger.exception("Could not publish outbox task %s; the relay will retry", outbox_id)


def deliver(outbox_id: int, count: int) -> None:
    """Run the task an outbox row names and delete the row; a duplicate or stale message does nothing.

    The claim moves the row's publish count on and its republish time a lease
    ahead, so the relay sends it again only if this run dies or fails.
    """
    # Not renewed while it runs: sent again only once the task's time limit is surely past.
    lease = timezone.now() + timedelta(
        seconds=settings.CELERY_TASK_TIME_LIMIT + settings.BATON_STEP_LEASE_SECONDS
    )
    claimed = Outbox.objects.filter(id=outbox_id, step__isnull=True, publish_count=count).update(
        publish_count=count + 1, republish_at=lease
    )
    if not claimed:
        logger.debug(
            "Outbox task %s publish %s already delivered or taken; dropping the message", outbox_id, count
        )
        return
    row = Outbox.objects.get(id=outbox_id)
    registered_task(row.task)(*row.args)
    row.delete()


def registered_task(name: str) -> Any:
    """The Celery task registered as ``name``; ValueError when there is none."""
    from orchestration.celery import app

    if name not in app.tasks:
        # Apps' task modules are imported when a worker starts; another process imports them once here.
        app.loader.import_default_modules()
    if name not in app.tasks:
        raise ValueError(f"{name!r} is not a registered Celery task.")
    return app.tasks[name]


def relay_outbox(now: datetime | None = None) -> int:
    """Publish again the outbox rows whose step (or named task) nobody has picked up in time.

    Returns how many messages were published. Safe to run in several processes:
    rows are claimed with ``FOR UPDATE SKIP LOCKED``.
    """
    now = now or timezone.now()
    to_publish: list[tuple[int, int]] = []
    to_deliver: list[tuple[int, int]] = []
    lost: list[tuple[int, int, Any]] = []
    unclaimed: list[tuple[Outbox, Step]] = []
    with transaction.atomic():
        rows = list(
            Outbox.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("step")
            .filter(republish_at__lte=now)
            .order_by("republish_at")[:RELAY_BATCH]
        )
        stale = []
        for row in rows:
            if row.step is None:
                if row.publish_count >= MAX_DELIVERIES:
                    logger.error(
                        "Giving up outbox task %s %s after %d tries", row.id, row.task, row.publish_count
                    )
                    stale.append(row.id)
                else:
                    to_deliver.append((row.id, _republish(row, now)))
                continue
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
                unclaimed.append((row, step))
        if stale:
            Outbox.objects.filter(id__in=stale).delete()
        # Oldest first: in a FIFO queue the messages still waiting are the newest ones.
        missing = _messages_missing() if unclaimed else 0
        for row, step in unclaimed[:missing]:
            _republish(row, now)
            to_publish.append((step.id, row.attempt))
        # The broker still holds as many messages as there are rows waiting: look again later.
        Outbox.objects.filter(id__in=[row.id for row, _ in unclaimed[missing:]]).update(
            republish_at=now + _grace()
        )
    if to_publish:
        logger.info("Relay republishing %d step(s)", len(to_publish))
        publish(to_publish)
    if to_deliver:
        logger.info("Relay republishing %d outbox task(s)", len(to_deliver))
        publish_deliveries(to_deliver)
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
                lease_over_at=now,
            )
    return len(to_publish) + len(to_deliver) + len(lost)


def _messages_missing() -> int:
    """How many of the rows waiting for a worker the broker's queue cannot be holding a message for.

    Every waiting row (a queued step, a named task not yet done) had its message
    published; if the queue holds fewer messages than there are such rows, the
    difference was lost (broker restarted without its data, a worker died holding
    it). Stale duplicates in the queue can only hide a loss until they drain.
    """
    waiting = Outbox.objects.filter(
        Q(step__isnull=True) | Q(step__status=Step.Status.QUEUED, step__attempt=F("attempt"))
    ).count()
    return max(0, waiting - queue_depth())


def queue_depth() -> int:
    """The messages waiting in Baton's queue, as the broker counts them (0 if it cannot say)."""
    from kombu.exceptions import ChannelError

    from orchestration.celery import app

    try:
        with app.connection_for_write() as conn:
            try:
                declared = conn.default_channel.queue_declare(
                    settings.CELERY_TASK_DEFAULT_QUEUE, passive=True
                )
            except ChannelError:
                return 0  # Redis drops an empty list's key: no queue means no messages
            return int(declared.message_count)
    except Exception:
        # An unreachable broker holds nothing we can count on: the relay resends (and logs the failure).
        logger.warning(
            "Could not read the depth of queue %s", settings.CELERY_TASK_DEFAULT_QUEUE, exc_info=True
        )
        return 0


def _republish(row: Outbox, now: datetime) -> int:
    """Push ``row``'s next republish time back and count this publish; returns the new count."""
    # Back off per republish, capped so that a message lost again is still resent within minutes.
    row.republish_at = now + _grace() * min(2**row.publish_count, 8)
    row.publish_count += 1
    row.save(update_fields=["republish_at", "publish_count"])
    return row.publish_count


def claimable(step_id: int, attempt: int) -> Q:
    """The condition under which a worker may claim ``step_id`` for ``attempt``."""
    return Q(id=step_id, attempt=attempt, status=Step.Status.QUEUED)
