"""Who may see and decide approval tasks: the approvals app's access rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from approvals.models import ApprovalTask

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def tasks_for(user: AbstractBaseUser) -> QuerySet[ApprovalTask]:
    """Tasks ``user`` may decide: assigned to them or queued for one of their groups.

    Superusers too: administering Baton is not signature authority.
    """
    return ApprovalTask.objects.filter(
        Q(assignee=user) | Q(assignee__isnull=True, candidate_group__in=user.groups.all())  # type: ignore[attr-defined]
    )


def visible_tasks(user: AbstractBaseUser) -> QuerySet[ApprovalTask]:
    """Tasks ``user`` may open: those they may decide plus those they decided."""
    if user.is_superuser:  # type: ignore[attr-defined]
        return ApprovalTask.objects.all()
    return ApprovalTask.objects.filter(
        Q(assignee=user)
        | Q(assignee__isnull=True, candidate_group__in=user.groups.all())  # type: ignore[attr-defined]
        | Q(decided_by=user)
    )


def can_decide(user: AbstractBaseUser, task: ApprovalTask) -> bool:
    return tasks_for(user).filter(pk=task.pk).exists()


def can_manage_tasks(user: AbstractBaseUser) -> bool:
    """Whether ``user`` may hand other people's tasks on (reassign, put back in the queue): admin staff."""
    return bool(user.is_staff and user.has_perm("approvals.change_approvaltask"))  # type: ignore[attr-defined]
