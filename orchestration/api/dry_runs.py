"""REST endpoints for trying a draft: a test run and a replay of recent requests (nothing is kept or sent).

``POST /api/workflows/<key>/test-run/`` and ``POST /api/workflows/<key>/replay/``, for people who may
design the workflow. A test run is stateless: send the start data and every answer given so far;
the answer lists where it waits now and what it asks.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestration.access import access_workflow, visible_instance_ids
from orchestration.api.parsers import JSONParser
from orchestration.api.responses import FORBIDDEN, NOT_FOUND, signed_in
from orchestration.api.serializers import problems
from orchestration.engine import StartDataError
from orchestration.engine.dry_run import (
    ANSWER_KINDS,
    DECISIONS,
    DEFAULT_REPLAY,
    MAX_REPLAY,
    BadAnswer,
    BadResubmission,
    diagram_to_try,
    parse_answers,
    replay,
    try_draft,
)
from orchestration.models import Workflow

_MAX_DIAGRAM = 2_000_000
_DESIGN = "design_workflow"


class AnswerSerializer(serializers.Serializer[None]):
    at = serializers.CharField(
        help_text="The step answered: its block id and visit number, as `Approve_1#1`."
    )
    kind = serializers.ChoiceField(choices=list(ANSWER_KINDS))
    outcome = serializers.ChoiceField(choices=list(DECISIONS), required=False, help_text="For a decision.")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    output = serializers.DictField(
        required=False, help_text="For an automated step: what the system answers."
    )
    code = serializers.CharField(required=False, allow_blank=True, max_length=2000, help_text="For `fail`.")
    data = serializers.DictField(  # type: ignore[assignment]
        required=False,
        help_text="For `resubmit` (after `changes_requested`): the start form's values the requester "
        "sends again; fields left out keep their values.",
    )


class TestRunSerializer(serializers.Serializer[None]):
    data = serializers.DictField(help_text="The start form's values.")  # type: ignore[assignment]
    answers = AnswerSerializer(many=True, required=False, help_text="Every answer given so far, in order.")
    bpmn_xml = serializers.CharField(
        required=False,
        max_length=_MAX_DIAGRAM,
        help_text="The diagram to try; the current draft when left out.",
    )


class ReplaySerializer(serializers.Serializer[None]):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_REPLAY, default=DEFAULT_REPLAY)
    bpmn_xml = serializers.CharField(required=False, max_length=_MAX_DIAGRAM)


class LineSerializer(serializers.Serializer[None]):
    at = serializers.CharField()
    node_id = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text="The block's business name (Approval, Decision…).")
    state = serializers.ChoiceField(choices=["done", "waiting", "problem", "cancelled"])
    text = serializers.CharField(help_text="What happened there, in words.")


class QuestionSerializer(serializers.Serializer[None]):
    at = serializers.CharField()
    node_id = serializers.CharField()
    name = serializers.CharField()
    ask = serializers.ChoiceField(
        choices=["decision", "output", "path", "wait", "resubmit"],
        help_text="`resubmit`: sent back to the requester; `outputs` are the start form's fields, "
        "`example` the request's values.",
    )
    text = serializers.CharField()
    example = serializers.DictField()
    outputs = serializers.ListField(child=serializers.DictField())
    error_codes = serializers.DictField()
    can_fail = serializers.BooleanField()
    paths = serializers.ListField(
        child=serializers.CharField(),
        help_text="A Decision the AI decides: the paths' names, one of which the answer's output gives as path.",
    )


class TrailSerializer(serializers.Serializer[None]):
    visited = serializers.ListField(child=serializers.CharField())
    flows = serializers.ListField(child=serializers.CharField())
    current = serializers.ListField(child=serializers.CharField())
    incidents = serializers.ListField(child=serializers.CharField())


class TestRunResultSerializer(serializers.Serializer[None]):
    status = serializers.CharField()
    outcome = serializers.CharField()
    finished = serializers.BooleanField()
    lines = LineSerializer(many=True)
    questions = QuestionSerializer(many=True)
    trail = TrailSerializer()
    data = serializers.DictField()  # type: ignore[assignment]
    answers = AnswerSerializer(many=True)


class ReplayGroupSerializer(serializers.Serializer[None]):
    text = serializers.CharField()
    node_id = serializers.CharField(
        help_text="The block where these requests part from before (empty: none)."
    )
    requests = serializers.ListField(child=serializers.DictField())
    same = serializers.BooleanField()


class ReplayResultSerializer(serializers.Serializer[None]):
    total = serializers.IntegerField()
    same = serializers.IntegerField()
    version = serializers.IntegerField(allow_null=True)
    groups = ReplayGroupSerializer(many=True)


_INVALID = OpenApiResponse(
    description="Bad input (by field), start data that does not fit, or a draft with errors."
)


def _diagram(workflow: Workflow, xml: str | None) -> tuple[str, Any]:
    xml, result = diagram_to_try(workflow, xml)
    if not result.ok:
        raise ValidationError(
            {"bpmn_xml": ["Fix the diagram's problems first."], "problems": problems(result.errors)}
        )
    return xml, result.graph


class TestRunView(APIView):
    """Run the draft with sample data; people and systems are answered by ``answers``; nothing is kept."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Test-run the draft (nothing is kept or sent)",
        request=TestRunSerializer,
        responses={200: TestRunResultSerializer, 400: _INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request: Request, key: str) -> Response:
        workflow = access_workflow(signed_in(request), key, _DESIGN)
        body = TestRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        xml, graph = _diagram(workflow, body.validated_data.get("bpmn_xml"))
        try:
            answers = parse_answers(body.validated_data.get("answers", []))
            data = body.validated_data["data"]
            run = try_draft(workflow, xml, graph, data, answers, user=signed_in(request))
        except BadResubmission as exc:
            raise ValidationError(
                {f"{exc.field}.{name}": errors for name, errors in exc.errors.items()}
            ) from None
        except BadAnswer as exc:
            raise ValidationError({exc.field: [str(exc)]}) from None
        except StartDataError as exc:
            raise ValidationError({f"data.{name}": errors for name, errors in exc.errors.items()}) from None
        return Response(run.as_json(data, answers))


class ReplayView(APIView):
    """Run recent requests of the published version through the draft and group where they now differ."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Replay recent requests through the draft (nothing is kept or sent)",
        request=ReplaySerializer,
        responses={200: ReplayResultSerializer, 400: _INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request: Request, key: str) -> Response:
        workflow = access_workflow(signed_in(request), key, _DESIGN)
        body = ReplaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        xml, graph = _diagram(workflow, body.validated_data.get("bpmn_xml"))
        report = replay(workflow, xml, graph, limit=body.validated_data["limit"])
        # Designing a workflow does not show other people's requests: those are counted, not named.
        return Response(report.as_json(visible_instance_ids(signed_in(request), report.request_ids())))
