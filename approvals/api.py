"""Approvals' REST endpoints: the task list, a task, and deciding it (``/api/tasks/``).

The project's API router (``orchestration/api/urls.py``) asks each installed app's
``api`` module to :func:`register_routes`, so the engine's API never imports approvals.
Views are thin: they read through :func:`approvals.access.tasks_for` and decide
through :func:`approvals.actions.complete_task`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from approvals.access import reachable_tasks, tasks_for
from approvals.actions import (
    OUTCOMES,
    InvalidDecision,
    InvalidFields,
    TaskAlreadyDecided,
    TaskTaken,
    complete_task,
)
from approvals.models import ApprovalTask
from orchestration.access import can_operate
from orchestration.api.filters import FilterSet, RequestNumberFilter
from orchestration.api.responses import FORBIDDEN, NOT_FOUND, conflict, signed_in
from orchestration.api.serializers import AttachmentSerializer
from orchestration.connectors import ai
from orchestration.engine import InvalidState
from orchestration.engine.human import graph_for

# --- shapes -------------------------------------------------------------------------


class TaskFilter(FilterSet):
    """Filters of the task list: open tasks unless ``status`` says otherwise (``all``: every one)."""

    defaults: ClassVar[dict[str, str]] = {"status": ApprovalTask.Status.OPEN}

    status = django_filters.ChoiceFilter(
        choices=[*ApprovalTask.Status.choices, ("all", "All")],
        method="filter_status",
        help_text="Tasks in this status, or all of them; open ones when left out.",
    )
    request_number = RequestNumberFilter(prefix="instance__")

    class Meta:
        model = ApprovalTask
        fields: list[str] = []

    def filter_status(
        self, queryset: QuerySet[ApprovalTask], name: str, value: str
    ) -> QuerySet[ApprovalTask]:
        """Tasks in that status, or every one."""
        return queryset if value == "all" else queryset.filter(status=value)


class TaskSerializer(serializers.ModelSerializer[ApprovalTask]):
    """An approval task with the request it is about."""

    instance = serializers.UUIDField(source="instance_id", read_only=True)  # type: ignore[assignment]  # a field, not the Serializer attribute of that name
    request_number = serializers.CharField(
        source="instance.reference",
        read_only=True,
        help_text="The number people quote, e.g. REQ-2026-000123.",
    )
    workflow = serializers.CharField(source="instance.workflow.key", read_only=True)
    business_key = serializers.CharField(source="instance.business_key", read_only=True)
    requester: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        source="instance.initiator", slug_field="username", read_only=True
    )
    variables = serializers.JSONField(source="instance.variables", read_only=True)
    assignee: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    candidate_group: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    decided_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    on_behalf_of: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        help_text="Whose task it is while the assignee decides it for them (out of office, forwarded).",
    )
    attachments = AttachmentSerializer(source="instance.attachments", many=True, read_only=True)

    def to_representation(self, instance: ApprovalTask) -> dict[str, Any]:
        shown: dict[str, Any] = super().to_representation(instance)
        request = self.context.get("request")
        # A request sent back to its requester: the AI's answers stay with the people who decide and
        # operate, as on the request's page (unless the designer shows them to the requester).
        if instance.kind == ApprovalTask.Kind.RESUBMIT and (
            request is None or not can_operate(request.user, instance.instance)
        ):
            version = instance.instance.version
            hidden = ai.private_answer_names(graph_for(version.pk, version.checksum))
            shown["variables"] = {k: v for k, v in (shown["variables"] or {}).items() if k not in hidden}
        return shown

    class Meta:
        model = ApprovalTask
        fields = [
            "id",
            "name",
            "status",
            "instance",
            "request_number",
            "workflow",
            "business_key",
            "requester",
            "variables",
            "assignee",
            "candidate_group",
            "reason",
            "outcome",
            "comment",
            "data",
            "decided_by",
            "on_behalf_of",
            "decided_at",
            "due_at",
            "created_at",
            "attachments",
        ]
        read_only_fields = fields


class DecisionSerializer(serializers.Serializer[None]):
    """A decision on a task; a rejection needs a comment."""

    outcome = serializers.ChoiceField(choices=OUTCOMES)
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    data = serializers.DictField(required=False, default=dict)  # type: ignore[assignment]  # a field, not the Serializer attribute of that name


class AlreadyDecidedSerializer(serializers.Serializer[None]):
    """Someone decided or took the task first: who, in words (``detail``) and by username."""

    detail = serializers.CharField()
    decided_by = serializers.CharField(allow_null=True)
    holder = serializers.CharField(allow_null=True, help_text="Who has the task now, if someone took it.")


# --- endpoints ----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Your approval tasks (open by default)"),
    retrieve=extend_schema(responses={200: TaskSerializer, 404: NOT_FOUND}),
)
class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Approval tasks assigned to you or queued for your groups."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter

    def get_queryset(self) -> QuerySet[ApprovalTask]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ApprovalTask.objects.none()
        user = signed_in(self.request)
        # Deciding reaches a group task another member took first, to answer 409 naming them, not 404.
        tasks = reachable_tasks(user) if self.action == "complete" else tasks_for(user)
        return tasks.select_related(
            "instance__workflow",
            "instance__initiator",
            "assignee",
            "candidate_group",
            "decided_by",
            "on_behalf_of",
        ).prefetch_related("instance__attachments__uploaded_by")

    @extend_schema(
        summary="Decide a task",
        request=DecisionSerializer,
        responses={
            200: TaskSerializer,
            400: OpenApiResponse(description="The decision names the field to fix."),
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: AlreadyDecidedSerializer,
        },
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        """Approve or reject; the second of two deciders is told who was first."""
        task = self.get_object()
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            complete_task(
                task.id,
                signed_in(request),
                body.validated_data["outcome"],
                comment=body.validated_data["comment"],
                data=body.validated_data["data"],
            )
        except TaskAlreadyDecided as exc:
            decided_by = exc.task.decided_by.get_username() if exc.task.decided_by else None
            return conflict(str(exc), decided_by=decided_by, holder=None)
        except TaskTaken as exc:
            holder = exc.task.assignee.get_username() if exc.task.assignee else None
            return conflict(str(exc), decided_by=None, holder=holder)
        except InvalidFields as exc:
            raise ValidationError({"data": exc.errors}) from None
        except InvalidDecision as exc:
            raise ValidationError({exc.field: [str(exc)]}) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        except InvalidState as exc:
            return conflict(str(exc), decided_by=None, holder=None)
        return Response(self.get_serializer(self.get_object()).data)


def register_routes(router: BaseRouter) -> None:
    """Put approvals' endpoints on the project's API router."""
    router.register("tasks", TaskViewSet, basename="task")
