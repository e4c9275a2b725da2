"""Celery tasks of the approvals app: transport only, the database holds the tasks."""

from __future__ import annotations

import smtplib

from celery import shared_task

from approvals.notifications import Kind, send_task_emails


# Sent by a worker, not in-process on commit: a slow mail server must not stall a decision or the ticker, and a lost message loses an email, never the task (the inbox has it).
@shared_task(
    name="approvals.send_task_emails",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    max_retries=3,
)
def send_task_emails_task(kind: Kind, task_id: int, previous_id: int | None = None) -> int:
    """Email the approvers of an approval task (see :func:`approvals.notifications.send_task_emails`)."""
    return send_task_emails(kind, task_id, previous_id)
