"""Actions people take on approval tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from approvals.chain import covers
from approvals.engine import AUTHORITY_CHAIN, chain_request, escalate_in_chain, is_chain_level
from approvals.models import ApprovalTask
from orchestration.engine import InvalidState, locked_run, resume_in_run
from orchestration.engine.blocks.base import BlockError
from orchestration.engine.runtime import raise_incident
from orchestration.models import Step

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

OUTCOMES = ("approved", "rejected")


class TaskAlreadyDecided(Exception):
    """Someone else decided (or the process moved on) first."""

    def __init__(self, task: ApprovalTask) -> None:
        who = task.decided_by.get_username() if task.decided_by else "the process"
        super().__init__(f"Already {task.get_status_display().lower()} by {who}.")
        self.task = task


class InvalidDecision(ValueError):
    """The decision itself is malformed; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def tasks_for(user: AbstractBaseUser) -> QuerySet[ApprovalTask]:
    """Tasks ``user`` may see and decide: assigned to them or queued for one of their groups."""
    if user.is_superuser:  # type: ignore[attr-defined]
        return ApprovalTask.objects.all()
    return ApprovalTask.objects.filter(
        Q(assignee=user) | Q(assignee__isnull=True, candidate_group__in=user.groups.all())  # type: ignore[attr-defined]
    )


def can_decide(user: AbstractBaseUser, task: ApprovalTask) -> bool:
    return tasks_for(user).filter(pk=task.pk).exists()


def complete_task(
    task_id: int,
    user: AbstractBaseUser,
    outcome: str,
    *,
    comment: str = "",
    data: dict[str, Any] | None = None,
) -> ApprovalTask:
    """Decide a task and resume its process step.

    On an authority chain, an approval by someone whose limit does not cover the
    amount opens the next level's task instead (the step keeps waiting, and a
    ``task.escalated`` event says who is next); a rejection at any level ends it.
    The result variable gets ``{outcome, comment, by}`` (plus ``level`` on an
    authority chain) over any extra ``data``.

    Two people deciding at once: the instance row lock serializes them and the
    second gets :class:`TaskAlreadyDecided` naming who won.
    """
    if outcome not in OUTCOMES:
        raise InvalidDecision("outcome", f"Choose one of: {', '.join(OUTCOMES)}.")
    if outcome == "rejected" and not comment.strip():
        raise InvalidDecision("comment", "A rejection needs a comment for the requester.")
    instance_id = ApprovalTask.objects.values_list("instance_id", flat=True).get(id=task_id)
    with locked_run(instance_id, actor=user) as run:
        task = (
            ApprovalTask.objects.select_for_update(of=("self",)).select_related("decided_by").get(id=task_id)
        )
        if not can_decide(user, task):
            raise PermissionDenied("You are not an approver of this task.")
        if task.status != ApprovalTask.Status.OPEN:
            raise TaskAlreadyDecided(task)
        if run.instance.initiator_id == user.pk:
            raise PermissionDenied("You cannot approve your own request.")
        now = timezone.now()
        task.status = ApprovalTask.Status.COMPLETED
        task.outcome = outcome
        task.comment = comment
        task.data = data or {}
        task.decided_by = user  # type: ignore[assignment]
        task.decided_at = now
        task.lock_version += 1
        task.save()
        step = Step.objects.select_for_update().get(id=task.step_id)
        if step.status != Step.Status.WAITING:
            raise InvalidState(f"Step {step.node_id} is {step.get_status_display().lower()}, not waiting.")
        node = run.graph["nodes"][step.node_id]
        if outcome == "approved" and is_chain_level(node, task):
            try:
                # A savepoint, so a failed escalation leaves no half-made task behind its incident.
                with transaction.atomic():
                    request = chain_request(run, node)
                    on_date = timezone.localdate(run.now)
                    if not covers(user, request.amount, request.currency, request.category, on_date):
                        escalate_in_chain(run, step, node, task, request)
                        return task
            except BlockError as exc:
                # The decision stands; the operator fixes the org chart or data and retries the step.
                raise_incident(run, step, str(exc))
                return task
        variable = node["config"].get("result_variable") or "approval"
        # Extra data never overrides what was decided and by whom.
        decision = {**(data or {}), "outcome": outcome, "comment": comment, "by": user.get_username()}
        if node["config"].get("assignee_rule") == AUTHORITY_CHAIN:
            decision["level"] = task.chain_level
        resume_in_run(
            run,
            step,
            {variable: decision},
            message=f"{task.name}: {outcome} by {user.get_username()}" + (f" — {comment}" if comment else ""),
        )
    return task
