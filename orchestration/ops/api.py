"""The operations console in the REST API (``/api/operations/``): the same lists, rules and fixes as the pages.

Registered by :mod:`orchestration.api.urls`. Seeing asks :mod:`orchestration.access`
(not visible: 404; visible but not operated: 403); fixes call the engine's actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from orchestration.access import access_operated_instance, can_operate, operated_instances, operated_workflows
from orchestration.api.pagination import Pages
from orchestration.api.responses import FORBIDDEN, NOT_FOUND, REFUSED, conflict, signed_in
from orchestration.engine import (
    InvalidState,
    StartDataError,
    cancel_instance,
    move_token,
    retry_incident,
    skip_incident,
)
from orchestration.engine.graphs import graph_for
from orchestration.engine.human import provider
from orchestration.models import Incident, ProcessInstance
from orchestration.ops import instances as rows
from orchestration.ops.forms import InstanceFilter, without

# The counts endpoint documents the list's filters (all but status and sort) with these types.
_COUNT_FILTER_TYPES = {
    "version": OpenApiTypes.INT,
    "has_incident": OpenApiTypes.BOOL,
    "started_from": OpenApiTypes.DATE,
    "started_to": OpenApiTypes.DATE,
}


class WaitingSerializer(serializers.Serializer[rows.Waiting]):
    """A step the request is at now, in plain words."""

    node_id = serializers.CharField()
    step = serializers.CharField(help_text="The step's name.")
    what = serializers.CharField(help_text="What it waits for: Approval, Working, Needs attention…")
    incident = serializers.BooleanField(help_text="The step failed and waits for an operator.")


class CappedPages(Pages):
    """The instance list's pages: counted only as far as needed, like the console's tabs.

    An exact count reads every matching row (a million for the whole list), so the count
    stops past :data:`~orchestration.ops.instances.COUNT_CAP` or past the page asked for,
    whichever is further: ``count_is_exact`` false means there are more than ``count``.
    ``next`` is exact either way.
    """

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any] | None:
        self.request = request
        self.limit = self.get_limit(request)
        if self.limit is None:
            return None
        self.offset = self.get_offset(request)
        far = max(rows.COUNT_CAP, self.offset + self.limit)
        self.count = rows.capped_count(queryset, far)  # at most far + 1: then "more"
        self.count_is_exact = self.count <= far
        if self.count == 0 or self.offset > self.count:
            return []
        return list(queryset[self.offset : self.offset + self.limit])

    def get_paginated_response(self, data: Any) -> Response:
        count = int(self.count or 0)
        counted = count if self.count_is_exact else count - 1
        return Response(
            {
                "count": counted,
                "count_is_exact": self.count_is_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        described = super().get_paginated_response_schema(schema)
        properties = described["properties"]
        properties["count"]["description"] = (
            "How many requests match; when count_is_exact is false, there are more than this."
        )
        properties["count_is_exact"] = {
            "type": "boolean",
            "description": f"False when counting stopped past {rows.COUNT_CAP:,} (or past the page asked for).",
        }
        described["required"] = [*described.get("required", []), "count_is_exact"]
        return described


class OperatedInstanceSerializer(serializers.ModelSerializer[ProcessInstance]):
    """A request as the operations console lists it."""

    reference = serializers.CharField(read_only=True, help_text="The request number, e.g. REQ-2026-000123.")
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


# --- one instance and its fixes ------------------------------------------------------------


class DataItemSerializer(serializers.Serializer[rows.DataItem]):
    """One variable with its declared type."""

    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not the Serializer attribute of that name
    type = serializers.CharField(help_text="The type in words: Text, Number, Yes/no, Date…")
    kind = serializers.CharField(
        help_text="The declared type: string, number, integer, boolean, date, map, list…"
    )
    value = serializers.JSONField()
    from_start = serializers.BooleanField(help_text="Entered when the request started (a start-form field).")


class TaskHolderSerializer(serializers.Serializer[None]):
    """An open approval task of a waiting step, and who has it."""

    id = serializers.IntegerField()
    assignee = serializers.CharField(allow_null=True)
    group = serializers.CharField(allow_null=True)
    holder = serializers.CharField(help_text="Who has it, in words: a name, or the queue it waits in.")


class StepRowSerializer(serializers.Serializer[rows.StepRow]):
    """One visit of a token to a block: attempts, timing, the error in full, what went in and out (secrets hidden)."""

    id = serializers.IntegerField(source="step.id")
    node_id = serializers.CharField(source="step.node_id")
    name = serializers.SerializerMethodField()
    title = serializers.CharField(
        help_text='Its name as people read it: with the For each item and the Group it runs in ("Check line — item 2 of 3").'
    )
    kind = serializers.CharField(source="kind_label")
    status = serializers.CharField(source="step.status")
    attempt = serializers.IntegerField(source="step.attempt")
    max_attempts = serializers.IntegerField(source="step.max_attempts")
    created_at = serializers.DateTimeField(source="step.created_at")
    started_at = serializers.DateTimeField(source="step.started_at", allow_null=True)
    ended_at = serializers.DateTimeField(source="step.ended_at", allow_null=True)
    error = serializers.CharField(source="step.error")
    input = serializers.SerializerMethodField()
    output = serializers.SerializerMethodField()
    incident = serializers.IntegerField(source="incident_id", allow_null=True, help_text="Its open incident.")
    tasks = TaskHolderSerializer(many=True)
    tool_calls = serializers.ListField(
        child=serializers.CharField(),
        help_text='An AI step\'s tool calls in plain words ("Look up vendor in the ERP — 62 ms"), '
        "made so far while it runs; the details are in its output (or its history while unfinished).",
    )

    def get_name(self, row: rows.StepRow) -> str:
        return row.step.node_name or row.step.node_id

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_input(self, row: rows.StepRow) -> Any:
        return rows.redacted(row.step.input)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_output(self, row: rows.StepRow) -> Any:
        return rows.redacted(row.step.output)


class HistorySerializer(serializers.Serializer[rows.HistoryEntry]):
    """One history entry: what happened, who did it, and why (in ``data.reason`` for an operator's fix)."""

    kind = serializers.CharField(source="event.kind")
    message = serializers.CharField(source="event.message")
    who = serializers.CharField()
    data = serializers.JSONField(source="event.data")  # type: ignore[assignment]  # a field, not the Serializer attribute of that name
    created_at = serializers.DateTimeField(source="event.created_at")


class RelatedSerializer(serializers.Serializer[ProcessInstance]):
    """A parent or child instance."""

    id = serializers.UUIDField()
    reference = serializers.CharField()
    workflow = serializers.CharField(source="workflow.key")
    status = serializers.CharField()


class InstanceViewSerializer(serializers.Serializer[dict[str, Any]]):
    """The instance page's content."""

    instance = OperatedInstanceSerializer()  # type: ignore[assignment]  # a field, not the Serializer attribute of that name
    data = DataItemSerializer(many=True)  # type: ignore[assignment]  # a field, not the Serializer attribute of that name
    steps = StepRowSerializer(many=True)
    parent = RelatedSerializer(allow_null=True)
    children = RelatedSerializer(many=True)
    history = HistorySerializer(many=True)


class _Reason(serializers.Serializer[None]):
    reason = serializers.CharField(max_length=400, help_text="Why: kept in the history with your name.")


class RetryRequestSerializer(_Reason):
    """Retry an open incident, after correcting data (each value checked like start data)."""

    incident = serializers.IntegerField()
    variables = serializers.DictField(
        required=False, default=dict, help_text="Corrected values by variable name."
    )


class SkipRequestSerializer(_Reason):
    """Skip the failed step, giving the values it should have produced."""

    incident = serializers.IntegerField()
    variables = serializers.DictField(required=False, default=dict, help_text="Its results by variable name.")


class CancelRequestSerializer(_Reason):
    """Cancel the request; its requester is told the reason."""


class MoveRequestSerializer(_Reason):
    """Stop an open step and continue at another block."""

    step = serializers.IntegerField(help_text="The open step to stop (its id in `steps`).")
    target = serializers.CharField(max_length=200, help_text="The block id to continue at.")


# What a fix with values answers.
_FIX_RESPONSES = {
    200: InstanceViewSerializer,
    400: OpenApiResponse(description="Invalid values: each named with what is wrong."),
    403: FORBIDDEN,
    404: NOT_FOUND,
    409: REFUSED,
}


@extend_schema_view(
    list=extend_schema(
        summary="Requests of the workflows you operate",
        description="Filters and sort as on the operations page; 403 when you operate no workflow.",
    ),
    retrieve=extend_schema(
        summary="One request: data with types, steps, family and history",
        responses={200: InstanceViewSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    retry=extend_schema(
        summary="Retry an incident, after correcting data",
        description="Corrected values are checked like start data (400 names the field); the history keeps old and new.",
        request=RetryRequestSerializer,
        responses=_FIX_RESPONSES,
    ),
    skip=extend_schema(
        summary="Skip the failed step, giving the values it should have produced",
        request=SkipRequestSerializer,
        responses=_FIX_RESPONSES,
    ),
    cancel=extend_schema(
        summary="Cancel the request; its requester is told why",
        request=CancelRequestSerializer,
        responses={200: InstanceViewSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: REFUSED},
    ),
    move=extend_schema(
        summary="Move the token: stop an open step and continue at another block",
        request=MoveRequestSerializer,
        responses={200: InstanceViewSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: REFUSED},
    ),
    counts=extend_schema(
        parameters=[
            OpenApiParameter(
                name,
                _COUNT_FILTER_TYPES.get(name, OpenApiTypes.STR),
                description=str(f.extra.get("help_text") or f.label or ""),
            )
            for name, f in InstanceFilter.base_filters.items()
            if name not in ("status", "sort")
        ],
        summary="Counts per status for the same filters",
        description="The status filter is ignored, so each status's count shows what choosing it would list.",
        responses=StatusCountsSerializer,
    ),
)
class OperatedInstanceViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every instance of the workflows the caller operates."""

    serializer_class = OperatedInstanceSerializer
    filterset_class = InstanceFilter
    pagination_class = CappedPages

    def get_queryset(self) -> QuerySet[ProcessInstance]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ProcessInstance.objects.none()
        return rows.listed(rows.operated_by_id(signed_in(self.request))[1])

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # The lists need an operated workflow; one instance answers 404 or 403 by its own rule.
        if self.action in ("list", "counts") and not operated_workflows(signed_in(request)).exists():
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

    # --- one instance

    def _instance(self) -> ProcessInstance:
        return access_operated_instance(signed_in(self.request), self.kwargs["pk"])

    def _view(self, instance: ProcessInstance) -> Response:
        instance = rows.listed(ProcessInstance.objects.filter(pk=instance.pk)).get()
        graph = graph_for(instance.version_id, instance.version.checksum)
        parent, children = rows.family(instance)
        data = {
            "instance": instance,
            "data": rows.data_items(instance, graph),
            "steps": rows.step_rows(instance, provider().describe),
            "parent": parent,
            "children": children,
            "history": rows.history(instance),
        }
        return Response(InstanceViewSerializer(data).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        """The request with its data, steps, family and history."""
        return self._view(self._instance())

    def _fix(
        self, request: Request, body_class: type[serializers.Serializer[None]], act: Callable[..., Any]
    ) -> Response:
        instance = self._instance()
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        user = signed_in(request)
        try:
            act(instance, user, body.validated_data)
        except StartDataError as exc:
            raise serializers.ValidationError({"variables": exc.errors}) from None
        except (InvalidState, Incident.DoesNotExist) as exc:
            return conflict(str(exc) or "There is no such open incident on this request.")
        return self._view(instance)

    def _fix_incident(self, request: Request, body_class: Any, operation: Callable[..., Any]) -> Response:
        def act(instance: ProcessInstance, user: Any, body: dict[str, Any]) -> None:
            operation(
                _incident_on(instance, body["incident"]),
                actor=user,
                variables=body["variables"] or None,
                reason=body["reason"],
                authorize=lambda i: can_operate(user, i),
            )

        return self._fix(request, body_class, act)

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        """Run the failed step again (with corrected data)."""
        return self._fix_incident(request, RetryRequestSerializer, retry_incident)

    @action(detail=True, methods=["post"])
    def skip(self, request: Request, pk: str) -> Response:
        """Treat the failed step as done."""
        return self._fix_incident(request, SkipRequestSerializer, skip_incident)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Stop the request."""

        def act(instance: ProcessInstance, user: Any, body: dict[str, Any]) -> None:
            cancel_instance(
                instance.id, actor=user, reason=body["reason"], authorize=lambda i: can_operate(user, i)
            )

        return self._fix(request, CancelRequestSerializer, act)

    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        """Continue at another block."""

        def act(instance: ProcessInstance, user: Any, body: dict[str, Any]) -> None:
            move_token(
                instance.id,
                body["step"],
                body["target"],
                actor=user,
                reason=body["reason"],
                authorize=lambda i: can_operate(user, i),
            )

        return self._fix(request, MoveRequestSerializer, act)


def _incident_on(instance: ProcessInstance, incident_id: int) -> int:
    """The id of an open incident of ``instance``; Incident.DoesNotExist (a 409) otherwise."""
    if not Incident.objects.filter(id=incident_id, instance=instance, resolved_at__isnull=True).exists():
        raise Incident.DoesNotExist("There is no such open incident on this request.")
    return incident_id
