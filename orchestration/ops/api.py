"""The operations console in the REST API (``/api/operations/``): the same lists, rules and fixes as the pages.

Registered by :mod:`orchestration.api.urls`. Seeing asks :mod:`orchestration.access`
(not visible: 404; visible but not operated: 403); fixes call the engine's actions.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from orchestration.access import operated_instances, operated_workflows
from orchestration.api.responses import signed_in
from orchestration.models import ProcessInstance
from orchestration.ops import instances as rows
from orchestration.ops.forms import InstanceFilter, without


class WaitingSerializer(serializers.Serializer[rows.Waiting]):
    """A step the request is at now, in plain words."""

    node_id = serializers.CharField()
    step = serializers.CharField(help_text="The step's name.")
    what = serializers.CharField(help_text="What it waits for: Approval, Working, Needs attention…")
    incident = serializers.BooleanField(help_text="The step failed and waits for an operator.")


class OperatedInstanceSerializer(serializers.ModelSerializer[ProcessInstance]):
    """A request as the operations console lists it."""

    reference = serializers.CharField(read_only=True, help_text="The short request number.")
    title = serializers.CharField(read_only=True, help_text="What the request is about (its item, title…).")
    workflow = serializers.CharField(source="workflow.key", read_only=True)
    workflow_name = serializers.CharField(source="workflow.name", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    initiator = serializers.SerializerMethodField()
    needs_attention = serializers.BooleanField(source="has_incident", read_only=True)
    waiting_at = serializers.SerializerMethodField()

    class Meta:
        model = ProcessInstance
        fields = [
            "id",
            "reference",
            "title",
            "workflow",
            "workflow_name",
            "version",
            "status",
            "outcome",
            "needs_attention",
            "business_key",
            "initiator",
            "trigger",
            "waiting_at",
            "started_at",
            "ended_at",
        ]
        read_only_fields = fields

    def get_initiator(self, instance: ProcessInstance) -> str | None:
        """Who started it (username), or null for a webhook, schedule or message."""
        user = instance.initiator
        return user.get_username() if user is not None else None

    @extend_schema(responses=WaitingSerializer(many=True))
    def get_waiting_at(self, instance: ProcessInstance) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = WaitingSerializer(rows.waiting_at(instance), many=True).data  # type: ignore[arg-type, assignment]
        return data


class StatusCountsSerializer(serializers.Serializer[None]):
    """How many requests match the filters (the status filter aside), per status."""

    all = serializers.IntegerField()
    running = serializers.IntegerField()
    attention = serializers.IntegerField(help_text="Running and stopped by a failed step.")
    completed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


@extend_schema_view(
    list=extend_schema(
        summary="Requests of the workflows you operate",
        description="Filters and sort as on the operations page; 403 when you operate no workflow.",
    ),
    counts=extend_schema(
        summary="Counts per status for the same filters",
        description="The status filter is ignored, so each status's count shows what choosing it would list.",
        responses=StatusCountsSerializer,
    ),
)
class OperatedInstanceViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every instance of the workflows the caller operates."""

    serializer_class = OperatedInstanceSerializer
    filterset_class = InstanceFilter

    def get_queryset(self) -> QuerySet[ProcessInstance]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ProcessInstance.objects.none()
        return rows.listed(operated_instances(signed_in(self.request)))

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not operated_workflows(signed_in(request)).exists():
            self.permission_denied(request, "The operations console is for the people who run workflows.")

    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def counts(self, request: Request) -> Response:
        """Counts per status of the requests the other filters leave."""
        user = signed_in(request)
        filters = InstanceFilter(
            without(request.query_params, "status"),
            queryset=operated_instances(user),
            request=request,
        )
        if not filters.is_valid():
            raise serializers.ValidationError(filters.errors)
        return Response(rows.status_counts(filters.qs))
