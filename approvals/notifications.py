"""Emails to approvers: a task opened for them, a reminder, an escalation on timeout.

The engine calls :func:`notify_on_commit` inside its transaction; the email is
sent after the commit by a Celery worker (:mod:`approvals.tasks`) through the
engine's outbox, so a message the broker loses is sent again; the worker reads
the task again and sends nothing for a task decided in the meantime. Each
recipient gets their own signed links (:mod:`approvals.links`). An email only
carries the request's summary (workflow, requester, subject, amount, why, due
date), never the process variables as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from approvals.links import link_url
from approvals.models import ApprovalTask, money, person, task_holder
from approvals.time_zones import zone_of
from orchestration.engine import human

if TYPE_CHECKING:
    import datetime

__all__ = [
    "Kind",
    "TaskSummary",
    "notify_cancelled_on_commit",
    "notify_on_commit",
    "notify_returned_on_commit",
    "recipients",
    "send_cancelled_email",
    "send_returned_email",
    "send_task_emails",
    "summary",
]

Kind = Literal["assigned", "reminder", "escalated", "sent_back"]

# The Celery tasks (approvals.tasks) the outbox runs to send them.
SEND_TASK_EMAILS = "approvals.send_task_emails"
SEND_CANCELLED_EMAIL = "approvals.send_cancelled_email"
SEND_RETURNED_EMAIL = "approvals.send_returned_email"

_SUBJECTS: dict[str, str] = {
    "assigned": "Approval needed",
    "reminder": "Reminder: approval needed",
    "escalated": "Escalated to you: approval needed",
}


@dataclass(frozen=True)
class TaskSummary:
    """What an approver needs to know about a task before deciding, as emails and the link page show it."""

    number: str
    task_name: str
    workflow: str
    subject: str
    requester: str
    amount: str
    approver: str
    reason: str
    due_at: datetime.datetime | None


def summary(task: ApprovalTask) -> TaskSummary:
    """The summary of ``task`` from the request data copied onto it when it opened."""
    instance = task.instance
    requester = task.requester or instance.initiator
    return TaskSummary(
        number=instance.reference,
        task_name=task.name,
        workflow=instance.workflow.name,
        subject=task.subject,
        requester=person(requester) if requester else "",
        amount=money(task.amount, task.currency) if task.amount is not None and task.currency else "",
        approver=task_holder(task, "group"),
        reason=task.reason,
        due_at=task.due_at,
    )


def recipients(task: ApprovalTask) -> list[Any]:
    """Who is emailed about ``task``: its assignee, or each active member of its group queue.

    People without an email address and the requester (who cannot approve their own
    request) are left out.
    """
    users = get_user_model()
    if task.assignee_id:
        people = users._default_manager.filter(pk=task.assignee_id)
    elif task.candidate_group_id:
        people = users._default_manager.filter(groups=task.candidate_group_id)
    else:
        return []
    people = people.filter(is_active=True)
    requester_id = task.instance.initiator_id
    if requester_id is not None:
        people = people.exclude(pk=requester_id)
    email_field = users.get_email_field_name()
    return [user for user in people.order_by("pk") if getattr(user, email_field, "")]


def notify_on_commit(kind: Kind, task: ApprovalTask, *, previous: ApprovalTask | None = None) -> None:
    """Email the approvers of ``task`` (and, on escalation, those of ``previous``) once the transaction commits.

    Through the engine's outbox, as a step is dispatched: the email is queued with
    the task in the caller's transaction, and the relay sends it again if the broker
    loses the message.
    """
    human.send_on_commit(SEND_TASK_EMAILS, [kind, task.pk, previous.pk if previous is not None else None])


def send_task_emails(kind: Kind, task_id: int, previous_id: int | None = None) -> int:
    """Send the ``kind`` email about task ``task_id`` to each recipient; returns how many were sent.

    Nothing is sent about a task that is no longer open. On an escalation, the
    approvers of ``previous_id`` get a note saying who has the request now.
    """
    task = _load(task_id)
    if task is None:
        return 0
    messages = []
    if task.status == ApprovalTask.Status.OPEN and kind == "sent_back":
        if task.assignee is not None and _email_of(task.assignee):
            messages.append(_sent_back_message(task, task.assignee))
    elif task.status == ApprovalTask.Status.OPEN:
        info = summary(task)
        for user in recipients(task):
            messages.append(_task_message(kind, task, info, user))
    if kind == "escalated" and previous_id is not None:
        previous = _load(previous_id)
        if previous is not None:
            for user in recipients(previous):
                messages.append(_passed_on_message(previous, task, user))
    if not messages:
        return 0
    return get_connection().send_messages(messages) or 0


def notify_cancelled_on_commit(instance: Any, actor: Any, reason: str) -> None:
    """Email the requester of ``instance`` that ``actor`` cancelled it and why, once the transaction commits."""
    human.send_on_commit(SEND_CANCELLED_EMAIL, [str(instance.pk), person(actor) if actor else "", reason])


def send_cancelled_email(instance_id: str, by: str, reason: str) -> int:
    """Tell the requester their request was cancelled by someone else; returns how many were sent (0 or 1)."""
    from orchestration.models import ProcessInstance

    instance = ProcessInstance.objects.select_related("workflow", "initiator").filter(pk=instance_id).first()
    requester = instance.initiator if instance is not None else None
    if instance is None or requester is None or not _email_of(requester):
        return 0
    path = reverse("approvals:request", args=[instance.pk])
    context = {
        "recipient": person(requester),
        "number": instance.reference,
        "workflow": instance.workflow.name,
        "subject": instance.title,
        "by": by or "An operator",
        "why": reason,
        "request_url": f"{str(settings.BATON_BASE_URL).rstrip('/')}{path}",
    }
    subject = f"[{instance.reference}] Cancelled: {' '.join(instance.title.split())}"
    return (
        get_connection().send_messages([_message(subject, "approvals/email/cancelled", context, requester)])
        or 0
    )


def notify_returned_on_commit(user_id: Any, task_ids: list[int]) -> None:
    """Tell ``user_id``, back from out of office, in one email that tasks ``task_ids`` are back with them."""
    human.send_on_commit(SEND_RETURNED_EMAIL, [user_id, list(task_ids)])


def send_returned_email(user_id: Any, task_ids: list[int]) -> int:
    """ "3 requests are back in your inbox": those of ``task_ids`` still open and theirs; 0 or 1 sent."""
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None or not _email_of(user):
        return 0
    tasks = list(
        ApprovalTask.objects.select_related("instance__workflow", "instance__initiator", "requester")
        .filter(pk__in=task_ids, status=ApprovalTask.Status.OPEN, assignee=user)
        .order_by("created_at", "id")
    )
    if not tasks:
        return 0  # decided (or moved on) before the email went
    base = str(settings.BATON_BASE_URL).rstrip("/")
    count = f"{len(tasks)} request{'s are' if len(tasks) > 1 else ' is'}"
    context = {
        "recipient": person(user),
        "count": count,
        "tasks": [(summary(task), f"{base}{reverse('approvals:task', args=[task.pk])}") for task in tasks],
        "inbox_url": f"{base}{reverse('approvals:inbox')}",
    }
    message = _message(f"{count} back in your inbox", "approvals/email/returned", context, user)
    return get_connection().send_messages([message]) or 0


def _load(task_id: int) -> ApprovalTask | None:
    return (
        ApprovalTask.objects.select_related(
            "instance__workflow", "instance__initiator", "assignee", "candidate_group", "requester"
        )
        .filter(pk=task_id)
        .first()
    )


def _email_of(user: Any) -> str:
    return str(getattr(user, get_user_model().get_email_field_name()))


def _subject(prefix: str, info: TaskSummary) -> str:
    about = " ".join(
        (info.subject or info.workflow).split()
    )  # a header is one line: no breaks from a text field
    amount = f" ({info.amount})" if info.amount else ""
    return f"[{info.number}] {prefix}: {about}{amount}"


def _task_message(kind: Kind, task: ApprovalTask, info: TaskSummary, user: Any) -> EmailMultiAlternatives:
    context = {
        "kind": kind,
        "recipient": person(user),
        "summary": info,
        "for_group": task.assignee_id is None,
        "approve_url": link_url(task, user, "approve"),
        "reject_url": link_url(task, user, "reject"),
        "open_url": link_url(task, user, "open"),
    }
    return _message(_subject(_SUBJECTS[kind], info), "approvals/email/task", context, user)


def _sent_back_message(task: ApprovalTask, requester: Any) -> EmailMultiAlternatives:
    """To the requester: an approver wants changes; the link opens their request to edit and resubmit."""
    info = summary(task)
    path = reverse("approvals:request", args=[task.instance_id])
    context = {
        "recipient": person(requester),
        "summary": info,
        "why": task.reason,
        "request_url": f"{str(settings.BATON_BASE_URL).rstrip('/')}{path}",
    }
    return _message(_subject("Changes requested", info), "approvals/email/sent_back", context, requester)


def _passed_on_message(previous: ApprovalTask, task: ApprovalTask, user: Any) -> EmailMultiAlternatives:
    info = summary(previous)
    context = {
        "recipient": person(user),
        "summary": info,
        "now_with": summary(task).approver,
        "why": previous.comment,
    }
    return _message(_subject("Passed on", info), "approvals/email/passed_on", context, user)


def _message(subject: str, template: str, context: dict[str, Any], user: Any) -> EmailMultiAlternatives:
    # Dates in the recipient's time zone, as on their pages.
    with timezone.override(zone_of(user)):
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject[:200], body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[_email_of(user)]
    )
    message.attach_alternative(html, "text/html")
    return message
