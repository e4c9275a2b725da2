"""Celery tasks of the approvals app: transport only, the database holds the tasks."""

from __future__ import annotations

from celery import shared_task

from approvals.notifications import (
    SEND_CANCELLED_EMAIL,
    SEND_RETURNED_EMAIL,
    SEND_TASK_EMAILS,
    Kind,
    send_cancelled_email,
    send_returned_email,
    send_task_emails,
)


# Run by a worker through the engine's outbox, not in-process on commit: a slow mail server must
# not stall a decision or the ticker. A failed or lost send leaves its outbox row, which the
# relay publishes again with backoff, so no Celery retry is set here.
@shared_task(name=SEND_TASK_EMAILS)
def send_task_emails_task(kind: Kind, task_id: int, previous_id: int | None = None) -> int:
    """Email the approvers of an approval task (see :func:`approvals.notifications.send_task_emails`)."""
    return send_task_emails(kind, task_id, previous_id)


@shared_task(name=SEND_CANCELLED_EMAIL)
def send_cancelled_email_task(instance_id: str, by: str, reason: str) -> int:
    """Tell a requester someone else cancelled their request (see :func:`approvals.notifications.send_cancelled_email`)."""
    return send_cancelled_email(instance_id, by, reason)


@shared_task(name=SEND_RETURNED_EMAIL)
def send_returned_email_task(user_id: int, task_ids: list[int]) -> int:
    """Tell someone back from out of office which tasks came back (see :func:`approvals.notifications.send_returned_email`)."""
    return send_returned_email(user_id, task_ids)
