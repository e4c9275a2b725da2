"""Who may see and do what through the API, on top of django-guardian object permissions.

Seeing is answered by querysets (``visible_*``): an object a user cannot see is
simply not found (404), so its existence does not leak. Acting is answered by
``can_*`` and :class:`WorkflowPermission` once the object is found (403).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user
from rest_framework.permissions import BasePermission

from orchestration.models import Incident, MessageSubscription, ProcessInstance, Workflow, WorkflowVersion

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from rest_framework.request import Request
    from rest_framework.views import APIView


def has_workflow_perm(user: Any, perm: str, workflow: Workflow) -> bool:
    """Whether ``user`` holds ``perm`` (e.g. "start_workflow") globally or on ``workflow``.

    Both are asked because Django's model backend answers only global permissions
    and guardian's backend only object ones.
    """
    name = f"orchestration.{perm}"
    return bool(user.has_perm(name) or user.has_perm(name, workflow))


def visible_workflows(user: AbstractBaseUser) -> QuerySet[Workflow]:
    """Workflows ``user`` may view: view_workflow on the object or globally; superusers all."""
    workflows: QuerySet[Workflow] = get_objects_for_user(user, "orchestration.view_workflow", klass=Workflow)
    return workflows


def visible_instances(user: AbstractBaseUser) -> QuerySet[ProcessInstance]:
    """Instances ``user`` started, decides a task of, may view one by one, or operates the workflow of.

    Viewing a workflow (the catalog) does not show other people's requests: operating it
    (change_workflow) does.
    """
    from approvals.actions import visible_tasks

    instances = ProcessInstance.objects.all()
    if user.is_superuser:  # type: ignore[attr-defined]
        return instances
    granted = get_objects_for_user(user, "orchestration.view_instance", klass=ProcessInstance)
    operated = get_objects_for_user(user, "orchestration.change_workflow", klass=Workflow)
    return instances.filter(
        Q(initiator=user)
        | Q(workflow__in=operated)
        | Q(pk__in=granted.values("pk"))
        | Q(pk__in=visible_tasks(user).values("instance_id"))
    )


def visible_incidents(user: AbstractBaseUser) -> QuerySet[Incident]:
    """Incidents of the instances ``user`` may see."""
    return Incident.objects.filter(instance__in=visible_instances(user))


def can_cancel(user: AbstractBaseUser, instance: ProcessInstance) -> bool:
    """The initiator may withdraw their own request; operators need change_workflow."""
    if instance.initiator_id is not None and instance.initiator_id == user.pk:
        return True
    return has_workflow_perm(user, "change_workflow", instance.workflow)


def can_operate(user: AbstractBaseUser, instance: ProcessInstance) -> bool:
    """Retrying or skipping an incident changes the run: change_workflow on its workflow."""
    return has_workflow_perm(user, "change_workflow", instance.workflow)


def message_targets(name: str, correlation_key: str) -> QuerySet[Workflow]:
    """The workflows a message could reach, following ``correlate_message``'s rule.

    Instances waiting for (name, key) take it first; only when none waits does a
    message start event of a published version receive it.
    """
    waiting = MessageSubscription.objects.filter(
        message_name=name, correlation_key=correlation_key, instance__isnull=False
    )
    if waiting.exists():
        return Workflow.objects.filter(pk__in=waiting.values("instance__workflow"))
    starting = MessageSubscription.objects.filter(
        message_name=name, instance__isnull=True, version__status=WorkflowVersion.Status.PUBLISHED
    )
    return Workflow.objects.filter(pk__in=starting.values("version__workflow"))


class WorkflowPermission(BasePermission):
    """Checks the workflow permission the view names for its action (``action_perms``).

    Creating a workflow needs the global ``add_workflow`` permission. Object
    actions are checked after the object was found among the visible workflows,
    so a user who may view but not act gets 403, and anyone else 404.
    """

    message = "You do not have permission to do this on this workflow."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if getattr(view, "action", None) == "create":
            return bool(request.user.has_perm("orchestration.add_workflow"))
        return True

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        perms: dict[str, str] = getattr(view, "action_perms", {})
        perm = perms.get(getattr(view, "action", "") or "", "view_workflow")
        allowed = has_workflow_perm(request.user, perm, obj)
        if not allowed:
            self.message = f"You need the {perm.replace('_', ' ')} permission on {obj.key}."
        return allowed
