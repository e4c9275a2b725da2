"""REST endpoint that moves running requests to a newer version (``/api/version-moves/``).

Registered on the project's API router through ``BATON_API_MODULES``. The same domain
function as the page (:func:`orchestration.ops.version_moves.move_requests`): 404 for a
workflow the caller cannot see, 403 without the operate right, 400 naming the field.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from orchestration.access import access_workflow
from orchestration.api.responses import FORBIDDEN, NOT_FOUND, signed_in
from orchestration.models import ProcessInstance
from orchestration.ops.version_moves import (
    BULK_LIMIT,
    MoveRefused,
    move_requests,
    selection,
    target_versions,
    unmatched_blocks,
)


class VersionMoveSerializer(serializers.Serializer[Any]):
    """Which running requests move, where to, and why."""

    workflow = serializers.SlugField(max_length=100, help_text="The workflow's key.")
    version = serializers.IntegerField(min_value=1, help_text="The version the requests run on now.")
    target = serializers.IntegerField(min_value=1, help_text="A published version to move them to.")
    instances = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=BULK_LIMIT,
        help_text="Only these requests (ids); all running requests of the version when left out.",
    )
    mapping = serializers.DictField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="For a block the target version lacks: the id of the block its requests continue at.",
    )
    reason = serializers.CharField(max_length=400, required=False, default="", allow_blank=True)
    dry_run = serializers.BooleanField(
        default=False, help_text="Show what would happen, changing nothing (the same code, rolled back)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["dry_run"] and not attrs["reason"]:
            raise serializers.ValidationError({"reason": "Say why: it is kept in each request's history."})
        return attrs


class StepMoveSerializer(serializers.Serializer[Any]):
    step = serializers.IntegerField(source="step_id")
    block = serializers.CharField(source="node_id")
    block_name = serializers.CharField(source="node_name")
    target = serializers.CharField(source="target_id")
    target_name = serializers.CharField()
    status = serializers.CharField()


class PlanSerializer(serializers.Serializer[Any]):
    """One request: each open step and where it continues, or why it cannot move."""

    instance = serializers.UUIDField(source="instance_id")
    reference = serializers.CharField()
    title = serializers.CharField()
    from_version = serializers.IntegerField(allow_null=True)
    to_version = serializers.IntegerField(allow_null=True)
    moves = StepMoveSerializer(many=True)
    problems = serializers.ListField(child=serializers.CharField())
    moved = serializers.BooleanField()


class BlockSerializer(serializers.Serializer[Any]):
    """A block some requests wait at that the target lacks, and the blocks it may map to."""

    block = serializers.CharField(source="node_id")
    name = serializers.CharField()
    kind = serializers.CharField(source="kind_label")
    choices = serializers.SerializerMethodField()

    def get_choices(self, block: Any) -> list[dict[str, str]]:
        return [{"block": node_id, "name": name} for node_id, name in block.choices]


class VersionMoveResultSerializer(serializers.Serializer[Any]):
    dry_run = serializers.BooleanField()
    summary = serializers.CharField()
    moved = serializers.IntegerField(help_text="Requests moved (or that would move, in a dry run).")
    cannot_move = serializers.IntegerField()
    left = serializers.IntegerField(
        help_text=f"Requests left for another call (at most {BULK_LIMIT} per call)."
    )
    blocks_to_map = BlockSerializer(many=True)
    requests = PlanSerializer(many=True)


class VersionMoveViewSet(viewsets.ViewSet):
    """Move running requests of a version to a newer published version of their workflow."""

    @extend_schema(
        summary="Move running requests to another version (or a dry run of it)",
        request=VersionMoveSerializer,
        responses={
            200: VersionMoveResultSerializer,
            400: VersionMoveSerializer,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def create(self, request: Request) -> Response:
        """Each request moves in its own transaction under its lock; one that cannot move is listed with why."""
        body = VersionMoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = signed_in(request)
        workflow = access_workflow(user, data["workflow"], "change_workflow")
        narrowed = ProcessInstance.objects.filter(id__in=data["instances"]) if "instances" in data else None
        try:
            result = move_requests(
                user,
                data["workflow"],
                data["version"],
                data["target"],
                data.get("mapping") or {},
                reason=data["reason"],
                dry_run=data["dry_run"],
                narrowed=narrowed,
            )
        except MoveRefused as exc:
            return Response({exc.field: [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
        target = target_versions(workflow).get(number=data["target"])
        blocks = (
            unmatched_blocks(selection(workflow, data["version"], narrowed), target) if result.dry_run else []
        )
        return Response(
            VersionMoveResultSerializer(
                {
                    "dry_run": result.dry_run,
                    "summary": result.summary,
                    "moved": len(result.movable),
                    "cannot_move": len(result.refused),
                    "left": result.left,
                    "blocks_to_map": blocks,
                    "requests": result.plans,
                }
            ).data
        )


def register_routes(router: BaseRouter) -> None:
    """Put the version-move endpoint on the project's API router."""
    router.register("version-moves", VersionMoveViewSet, basename="version-move")
