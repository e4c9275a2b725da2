"""Who may see and do what: the domain's access rules, on top of django-guardian object permissions.

Seeing is answered by querysets (``visible_*``): an object a user cannot see is
simply not found (404), so its existence does not leak. Acting is answered by
``can_*`` and ``access_*`` once the object is found (403). Views, the API, the
designer, approvals and the admin all ask here; this module imports no web layer.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from orchestration.engine import human
from orchestration.models import (
    Attachment,
    Event,
    Incident,
    MessageSubscription,
    ProcessInstance,
    Workflow,
    WorkflowQuerySet,
    WorkflowVersion,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class WorkflowPermissionDenied(PermissionDenied):
    """Seen but not allowed: the workflow and the permissions asked for travel with the refusal.

    The 403 page uses them to say who can grant access; the API shows only the message.
    Raised only once the user may see the workflow, so naming it leaks nothing.
    """

    def __init__(self, workflow: Workflow, perms: tuple[str, ...], message: str = "") -> None:
        wanted = " or ".join(perm.replace("_", " ") for perm in perms)
        super().__init__(message or f"You need the {wanted} permission on {workflow.name}.")
        self.workflow = workflow
        self.perms = perms


def has_workflow_perm(user: Any, perm: str, workflow: Workflow) -> bool:
    """Whether ``user`` holds ``perm`` (e.g. "start_workflow") globally or on ``workflow``.

    Both are asked because Django's model backend answers only global permissions
    and guardian's backend only object ones.
    """
    name = f"orchestration.{perm}"
    return bool(user.has_perm(name) or user.has_perm(name, workflow))


def visible_workflows(user: AbstractBaseUser) -> WorkflowQuerySet:
    """Workflows ``user`` may view: view_workflow on the object or globally; superusers all."""
    # guardian filters Workflow's own manager, so the queryset keeps its class (and with_state).
    return cast("WorkflowQuerySet", get_objects_for_user(user, "orchestration.view_workflow", klass=Workflow))


def access_workflow(user: AbstractBaseUser, key: str, *perms: str, lock: bool = False) -> Workflow:
    """The workflow ``key`` if ``user`` may see it and holds one of ``perms`` on it.

    Raises Http404 when the user cannot see it (its existence does not leak) and
    PermissionDenied, naming the permission, when they can see it but not act.
    With ``lock`` the row is locked (``SELECT … FOR UPDATE``): call inside a transaction.
    """
    workflow = visible_workflows(user).select_related("owner").filter(key=key).first()
    if workflow is None:
        raise Http404("No such workflow.")
    if perms and not any(has_workflow_perm(user, perm, workflow) for perm in perms):
        raise WorkflowPermissionDenied(workflow, perms)
    if lock:  # the visibility query has joins and subqueries: lock the bare row by its key
        workflow = Workflow.objects.select_for_update().select_related("owner").get(pk=workflow.pk)
    return workflow


def visible_instances(user: AbstractBaseUser) -> QuerySet[ProcessInstance]:
    """Instances ``user`` started, decides a task of, may view one by one, or operates the workflow of.

    Viewing a workflow (the catalog) does not show other people's requests: operating it
    (change_workflow) does.
    """
    instances = ProcessInstance.objects.all()
    if user.is_superuser:  # type: ignore[attr-defined]
        return instances
    granted = get_objects_for_user(user, "orchestration.view_instance", klass=ProcessInstance)
    operated = get_objects_for_user(user, "orchestration.change_workflow", klass=Workflow)
    return instances.filter(
        Q(initiator=user)
        | Q(workflow__in=operated)
        | Q(pk__in=granted.values("pk"))
        | Q(pk__in=human.provider().instances_of(user))
    )


def operated_workflows(user: AbstractBaseUser) -> WorkflowQuerySet:
    """Workflows ``user`` operates (the operate right, change_workflow, on the object or globally); superusers all."""
    if user.is_superuser:  # type: ignore[attr-defined]
        return Workflow.objects.all()
    return cast(
        "WorkflowQuerySet", get_objects_for_user(user, "orchestration.change_workflow", klass=Workflow)
    )


def operated_instances(user: AbstractBaseUser) -> QuerySet[ProcessInstance]:
    """Instances of the workflows ``user`` operates: what the operations console lists and fixes."""
    if user.is_superuser:  # type: ignore[attr-defined]
        return ProcessInstance.objects.all()
    return ProcessInstance.objects.filter(workflow__in=operated_workflows(user).values("pk"))


def access_operated_instance(user: AbstractBaseUser, instance_id: Any) -> ProcessInstance:
    """The instance ``instance_id`` for the operations console.

    Http404 when ``user`` cannot see it at all (or the id is malformed); PermissionDenied
    when they see it (their own request, a task of theirs) but do not operate its workflow.
    """
    try:
        pk = uuid.UUID(str(instance_id))
    except ValueError:
        raise Http404("No such request.") from None
    instance = (
        visible_instances(user).select_related("workflow", "version", "initiator").filter(pk=pk).first()
    )
    if instance is None:
        raise Http404("No such request.")
    if not can_operate(user, instance):
        raise WorkflowPermissionDenied(
            instance.workflow,
            ("change_workflow",),
            f"You need the operate permission on {instance.workflow.name}.",
        )
    return instance


def visible_attachment(user: AbstractBaseUser, attachment_id: Any) -> Attachment:
    """The file ``attachment_id`` if ``user`` may see its request, else Http404 (its existence does not leak)."""
    try:
        pk = uuid.UUID(str(attachment_id))
    except ValueError:
        raise Http404("No such file.") from None
    attachment = Attachment.objects.filter(pk=pk, instance__in=visible_instances(user).values("pk")).first()
    if attachment is None:
        raise Http404("No such file.")
    return attachment


def visible_instance_ids(user: AbstractBaseUser, ids: list[str]) -> set[str]:
    """Which of the instances ``ids`` ``user`` may see (a designer replaying requests sees only those by name)."""
    found = visible_instances(user).filter(pk__in=ids).values_list("pk", flat=True)
    return {str(pk) for pk in found}


def can_attach(user: AbstractBaseUser, instance: ProcessInstance) -> bool:
    """The requester may add files to their own request while it is open."""
    return (
        instance.status == ProcessInstance.Status.RUNNING
        and instance.initiator_id is not None
        and instance.initiator_id == user.pk
    )


def others_last_acted(user: AbstractBaseUser, events: Iterable[Event]) -> datetime.datetime | None:
    """When a person other than ``user`` last acted on the request (decided, claimed, fixed…), from its ``events``."""
    return max(
        (e.created_at for e in events if e.actor_id is not None and e.actor_id != user.pk), default=None
    )


def uploader_may_remove(
    user: AbstractBaseUser, attachment: Attachment, instance: ProcessInstance, acted: datetime.datetime | None
) -> bool:
    """Whoever added a file may take it back while the request is open and nobody else has acted on it since.

    ``acted`` is :func:`others_last_acted`: an approver who decided after the upload may have
    relied on the file, so from then on only an operator removes it, giving a reason.
    """
    return (
        attachment.uploaded_by_id is not None
        and attachment.uploaded_by_id == user.pk
        and instance.status == ProcessInstance.Status.RUNNING
        and (acted is None or acted < attachment.uploaded_at)
    )


def visible_incidents(user: AbstractBaseUser) -> QuerySet[Incident]:
    """Incidents of the instances ``user`` may see (the initiator sees theirs, but may not fix them)."""
    return Incident.objects.filter(instance__in=visible_instances(user))


def operated_incidents(user: AbstractBaseUser) -> QuerySet[Incident]:
    """Incidents ``user`` may see and fix: those of the workflows they operate."""
    return Incident.objects.filter(instance__workflow__in=operated_workflows(user))


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
