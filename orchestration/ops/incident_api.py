"""REST endpoints of incident groups (``/api/incident-groups/``): list them, retry or skip a whole group.

Registered on the project's API router through ``BATON_API_MODULES``. Reads go
through :func:`orchestration.ops.incidents.incident_groups` (only the workflows the
caller operates), writes through :func:`~orchestration.ops.incidents.fix_group`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from orchestration.api.responses import FORBIDDEN, NOT_FOUND, signed_in
from orchestration.ops.incidents import BULK_LIMIT, Fix, fix_group, incident_groups


class StoppedRequestSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    business_key = serializers.CharField()
    started_at = serializers.DateTimeField()
    initiator = serializers.CharField()


class IncidentGroupSerializer(serializers.Serializer[Any]):
    """Open incidents of one workflow at one block with one error."""

    workflow = serializers.CharField(source="workflow_key")
    workflow_name = serializers.CharField()
    node_id = serializers.CharField()
    node_name = serializers.CharField()
    error = serializers.CharField()
    count = serializers.IntegerField()
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    requests = StoppedRequestSerializer(many=True, help_text="The oldest requests of the group (at most 10).")


class GroupFixSerializer(serializers.Serializer[Any]):
    """The group to fix (as listed) and why."""

    workflow = serializers.SlugField(max_length=100)
    node_id = serializers.CharField(max_length=200)
    error = serializers.CharField(trim_whitespace=False)
    reason = serializers.CharField(max_length=400, help_text="Recorded in each instance's history.")


class FailedFixSerializer(serializers.Serializer[Any]):
    incident = serializers.IntegerField()
    instance = serializers.UUIDField()
    detail = serializers.CharField()


class GroupFixResultSerializer(serializers.Serializer[Any]):
    """What the bulk action did, instance by instance."""

    action = serializers.ChoiceField(choices=["retry", "skip"])
    done = serializers.ListField(child=serializers.IntegerField(), help_text="Incidents fixed.")
    failed = FailedFixSerializer(many=True, help_text="Incidents that could not be fixed, and why.")
    failed_again = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Retried, and failed again at once with a new incident (inline steps).",
    )
    left = serializers.IntegerField(
        help_text=f"Incidents of the group left for another call (at most {BULK_LIMIT} per call)."
    )
    summary = serializers.CharField()


_FIX_SCHEMA = extend_schema(
    request=GroupFixSerializer,
    responses={200: GroupFixResultSerializer, 400: OpenApiTypes.OBJECT, 403: FORBIDDEN, 404: NOT_FOUND},
)


class IncidentGroupViewSet(viewsets.ViewSet):
    """Open incidents grouped by workflow, block and error, for the workflows you operate."""

    @extend_schema(
        summary="Open incident groups of the workflows you operate",
        parameters=[OpenApiParameter("workflow", str, description="Only this workflow (its key).")],
        responses={200: IncidentGroupSerializer(many=True)},
    )
    def list(self, request: Request) -> Response:
        """The groups, the one seen last first."""
        groups = incident_groups(signed_in(request), workflow=request.query_params.get("workflow", ""))
        return Response(IncidentGroupSerializer(groups, many=True).data)

    def _fix(self, request: Request, fix: Fix) -> Response:
        body = GroupFixSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = fix_group(
            signed_in(request), data["workflow"], data["node_id"], data["error"], fix, reason=data["reason"]
        )
        return Response(
            {
                "action": result.action,
                "done": result.done,
                "failed": [
                    {"incident": i, "instance": result.instances[i], "detail": why}
                    for i, why in result.failed
                ],
                "failed_again": result.failed_again,
                "left": result.left,
                "summary": result.summary,
            }
        )

    @extend_schema(summary="Retry every open incident of a group, each in its own transaction")
    @_FIX_SCHEMA
    @action(detail=False, methods=["post"])
    def retry(self, request: Request) -> Response:
        """Run the failed step again for each instance of the group."""
        return self._fix(request, "retry")

    @extend_schema(summary="Skip the failed step of every open incident of a group")
    @_FIX_SCHEMA
    @action(detail=False, methods=["post"])
    def skip(self, request: Request) -> Response:
        """Treat the failed step as done for each instance of the group."""
        return self._fix(request, "skip")


def register_routes(router: BaseRouter) -> None:
    """Put the incident-group endpoints on the project's API router."""
    router.register("incident-groups", IncidentGroupViewSet, basename="incident-group")
