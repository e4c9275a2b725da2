"""REST API views: thin wrappers that check access, validate input and call the actions.

Seeing is decided by querysets (not visible: 404); acting by permissions on the
object found (visible but not allowed: 403). State changes go through the
actions in ``orchestration.definitions`` and ``orchestration.engine``. The task
endpoints live with approvals (``approvals/api.py``).
"""

from __future__ import annotations

import uuid
from typing import Any
from xml.sax.saxutils import escape

from django.db.models import QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied, ValidationError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestration.access import (
    access_workflow,
    can_attach,
    can_cancel,
    can_operate,
    has_workflow_perm,
    message_targets,
    visible_incidents,
    visible_instances,
    visible_workflows,
)
from orchestration.api import serializers as s
from orchestration.api.filters import IncidentFilter, InstanceFilter
from orchestration.api.parsers import JSONParser
from orchestration.api.permissions import WorkflowPermission
from orchestration.api.responses import FORBIDDEN, NOT_FOUND, REFUSED, conflict, signed_in
from orchestration.attachments import (
    AttachmentRefused,
    ReasonNeeded,
    RemovalRefused,
    attach_files,
    check_files,
    file_response,
    remove_attachment,
)
from orchestration.bpmn.compiler import CompileResult, compile_bpmn
from orchestration.bpmn.parse import read_text
from orchestration.connectors import ai
from orchestration.definitions import (
    DefinitionError,
    DraftConflict,
    blank_diagram,
    create_workflow,
    current_draft,
    new_draft,
    publish_version,
    save_draft,
)
from orchestration.engine import (
    REQUEST_INLINE_BLOCKS,
    InvalidState,
    MessageRefused,
    NoSubscription,
    StartDataError,
    cancel_instance,
    correlate_message,
    retry_incident,
    skip_incident,
    start_instance,
)
from orchestration.engine.graphs import graph_for
from orchestration.models import Incident, ProcessInstance, Workflow, WorkflowVersion
from orchestration.webhooks import disable_webhook, rotate_webhook_secret

# --- BPMN XML in and out --------------------------------------------------------------


class _XmlParser(BaseParser):
    """A raw BPMN XML body, read as UTF-8 text (capped at the compiler's size limit)."""

    # The view reads the body as XML text, not the Mapping other parsers give.
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> str:  # type: ignore[override]
        try:
            return read_text(stream)
        except ValueError as exc:
            raise ParseError(str(exc)) from None


class ApplicationXmlParser(_XmlParser):
    """``application/xml`` bodies."""

    media_type = "application/xml"


class TextXmlParser(_XmlParser):
    """``text/xml`` bodies."""

    media_type = "text/xml"


class BpmnXmlRenderer(BaseRenderer):
    """Sends a diagram as it is stored; an error (a dict) as a one-line XML document."""

    media_type = "application/xml"
    format = "bpmn"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, str):
            return data.encode()
        detail = data.get("detail", "") if isinstance(data, dict) else ""
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<error>{escape(str(detail))}</error>\n'.encode()


def _draft_input(request: Request) -> tuple[str, int | None]:
    """The diagram and expected revision of a draft save, in any of the accepted forms."""
    if isinstance(request.data, str):
        query = s.RevisionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return request.data, query.validated_data.get("revision")
    if "file" in request.FILES:
        upload = s.DraftUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            xml = read_text(upload.validated_data["file"])
        except ValueError as exc:
            raise ValidationError({"file": [str(exc)]}) from None
        return xml, upload.validated_data.get("revision")
    body = s.DraftWriteSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data["bpmn_xml"], body.validated_data.get("revision")


def _result(result: CompileResult, **extra: Any) -> dict[str, Any]:
    return {
        **extra,
        "ok": result.ok,
        "errors": s.problems(result.errors),
        "warnings": s.problems(result.warnings),
    }


def _draft_data(draft: WorkflowVersion) -> dict[str, Any]:
    result = compile_bpmn(draft.bpmn_xml)
    return _result(result, bpmn_xml=draft.bpmn_xml, revision=draft.revision, updated_at=draft.updated_at)


# --- workflows ---------------------------------------------------------------------------

_NUMBER = OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH, description="Version number.")


# The actions that answer with the workflow itself (WorkflowSerializer).
_SHOWS_WORKFLOW = frozenset({"retrieve", "update", "partial_update"})


@extend_schema_view(
    list=extend_schema(summary="Workflows you may view"),
    create=extend_schema(
        summary="Create a workflow with its first draft",
        description="Needs the global add_workflow permission. Without `bpmn_xml` the draft holds one Start.",
        responses={
            201: s.WorkflowSerializer,
            400: OpenApiResponse(description="Invalid fields."),
            403: FORBIDDEN,
        },
    ),
    retrieve=extend_schema(responses={200: s.WorkflowSerializer, 404: NOT_FOUND}),
    update=extend_schema(
        summary="Rename or describe (change_workflow)",
        responses={200: s.WorkflowSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Rename or describe (change_workflow)",
        responses={200: s.WorkflowSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class WorkflowViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Workflows, their drafts and versions, and starting instances."""

    serializer_class = s.WorkflowSerializer
    permission_classes = [IsAuthenticated, WorkflowPermission]
    lookup_field = "key"
    lookup_value_regex = r"[a-z0-9][a-z0-9_-]*"
    # The workflow permission each action needs; anything else needs view_workflow.
    action_perms = {
        # The diagram may carry connector settings: reading it is for designers, not every viewer.
        "draft": "design_workflow",
        "download": "design_workflow",
        "update": "change_workflow",
        "partial_update": "change_workflow",
        "save_draft": "design_workflow",
        "validate": "design_workflow",
        "new_draft": "design_workflow",
        "publish": "publish_workflow",
        "start": "start_workflow",
        "webhook_secret": "change_workflow",
        "disable_webhook": "change_workflow",
    }

    def get_queryset(self) -> QuerySet[Workflow]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Workflow.objects.none()
        return visible_workflows(signed_in(self.request)).with_state()

    def get_object(self) -> Workflow:
        """The workflow in the URL: 404 when not visible, 403 naming the permission the action needs."""
        perm = self.action_perms.get(self.action or "", "view_workflow")
        workflow = access_workflow(signed_in(self.request), self.kwargs[self.lookup_field], perm)
        if self.action in _SHOWS_WORKFLOW:  # answered with WorkflowSerializer: read its state too
            return Workflow.objects.with_state().get(pk=workflow.pk)
        return workflow

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        xml = data.get("bpmn_xml") or blank_diagram(data["key"], data["name"])
        draft = create_workflow(
            data["key"],
            data["name"],
            xml,
            owner=signed_in(self.request),
            description=data.get("description", ""),
        )
        serializer.instance = Workflow.objects.with_state().get(pk=draft.workflow_id)

    # --- drafts

    @extend_schema(
        summary="The current draft with its validation",
        responses={200: s.DraftSerializer, 404: NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["get"],
        parser_classes=[JSONParser, ApplicationXmlParser, TextXmlParser, MultiPartParser],
    )
    def draft(self, request: Request, key: str) -> Response:
        """The draft's XML, revision, errors and warnings."""
        draft = current_draft(self.get_object())
        if draft is None:
            raise NotFound("There is no draft: start one from a version or save a diagram.")
        return Response(_draft_data(draft))

    @extend_schema(
        summary="Save the draft (JSON, raw XML or a file upload)",
        description=(
            "Send `{bpmn_xml, revision}` as JSON, the XML itself as `application/xml` or `text/xml` "
            "(revision as the `revision` query parameter), or a multipart form with `file`. "
            "With a revision, a draft saved by someone else since is refused with 409. "
            "A draft may hold errors: they are listed, not refused."
        ),
        parameters=[
            OpenApiParameter(
                "revision", OpenApiTypes.INT, OpenApiParameter.QUERY, description="For raw XML."
            ),
        ],
        request={
            "application/json": s.DraftWriteSerializer,
            "application/xml": OpenApiTypes.STR,
            "text/xml": OpenApiTypes.STR,
            "multipart/form-data": s.DraftUploadSerializer,
        },
        responses={
            200: s.SaveResultSerializer,
            400: OpenApiResponse(description="Missing or malformed input."),
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: s.ConflictSerializer,
        },
    )
    @draft.mapping.put
    def save_draft(self, request: Request, key: str) -> Response:
        """Store a diagram as the draft and report its problems."""
        workflow = self.get_object()
        xml, revision = _draft_input(request)
        try:
            draft, result = save_draft(workflow, xml, actor=signed_in(request), expected_revision=revision)
        except DraftConflict as exc:
            return conflict(str(exc), revision=exc.current.revision)
        return Response(_result(result, revision=draft.revision))

    @extend_schema(
        summary="Check a diagram without saving it",
        description="Checks `bpmn_xml` (JSON) or a raw XML body; with neither, the current draft.",
        request={
            "application/json": s.ValidateSerializer,
            "application/xml": OpenApiTypes.STR,
            "text/xml": OpenApiTypes.STR,
        },
        responses={200: s.SaveResultSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, ApplicationXmlParser, TextXmlParser])
    def validate(self, request: Request, key: str) -> Response:
        """Compile the given XML (or the draft) and list its problems."""
        workflow = self.get_object()
        if isinstance(request.data, str):
            xml: str | None = request.data
        else:
            body = s.ValidateSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            xml = body.validated_data.get("bpmn_xml")
        if xml is None:
            draft = current_draft(workflow)
            if draft is None:
                raise NotFound("There is no draft to validate: send bpmn_xml.")
            xml = draft.bpmn_xml
        return Response(_result(compile_bpmn(xml)))

    @extend_schema(
        summary="Publish the current draft as the next version",
        request=s.PublishSerializer,
        responses={
            201: s.VersionSerializer,
            400: s.ProblemListSerializer,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: OpenApiResponse(s.DetailSerializer, description="No draft, or it changed meanwhile."),
        },
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, key: str) -> Response:
        """Compile, validate and freeze the draft; 400 lists every error by element."""
        workflow = self.get_object()
        body = s.PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        draft = current_draft(workflow)
        if draft is None:
            return conflict("There is no draft to publish.")
        try:
            version = publish_version(
                draft, actor=signed_in(request), expected_revision=body.validated_data.get("revision")
            )
        except DraftConflict as exc:
            return conflict(str(exc), revision=exc.current.revision)
        except DefinitionError as exc:
            return Response({"errors": s.problems(exc.problems)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(s.VersionSerializer(version).data, status=status.HTTP_201_CREATED)

    # --- versions

    @extend_schema(
        summary="Published and retired versions, newest first",
        responses={200: s.VersionSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request: Request, key: str) -> Response:
        """Every numbered version of the workflow."""
        workflow = self.get_object()
        versions = workflow.versions.exclude(number=None).select_related("published_by").order_by("-number")
        return Response(s.VersionSerializer(versions, many=True).data)

    @extend_schema(
        summary="Download a version's BPMN XML",
        parameters=[_NUMBER],
        responses={(200, "application/xml"): OpenApiTypes.STR, 404: NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"versions/(?P<number>[0-9]+)/bpmn",
        renderer_classes=[BpmnXmlRenderer, JSONRenderer],
    )
    def download(self, request: Request, key: str, number: str) -> Response:
        """The XML as an attachment named after the workflow and version."""
        workflow = self.get_object()
        version = get_object_or_404(workflow.versions, number=int(number))
        response = Response(version.bpmn_xml, content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{workflow.key}-v{version.number}.bpmn"'
        return response

    @extend_schema(
        summary="Start a new draft from a version",
        description="Replaces the current draft's content with the version's diagram.",
        parameters=[_NUMBER],
        request=None,
        responses={201: s.DraftSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>[0-9]+)/new-draft")
    def new_draft(self, request: Request, key: str, number: str) -> Response:
        """Copy a version into the draft."""
        workflow = self.get_object()
        version = get_object_or_404(workflow.versions, number=int(number))
        draft = new_draft(version, actor=signed_in(request))
        return Response(_draft_data(draft), status=status.HTTP_201_CREATED)

    # --- running

    @extend_schema(
        summary="Start an instance of the published version",
        description=(
            "JSON, or multipart with the start data as JSON text in `data` and files as parts "
            "named `file` (attachment limits apply: a refusal is a 400 naming `file`, and nothing starts)."
        ),
        request={"application/json": s.StartSerializer, "multipart/form-data": s.StartWithFilesSerializer},
        responses={
            201: s.InstanceDetailSerializer,
            400: OpenApiResponse(description='Start data errors by field: `{"data": {field: [messages]}}`.'),
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: OpenApiResponse(s.DetailSerializer, description="Nothing published."),
        },
    )
    @action(detail=True, methods=["post"])
    def start(self, request: Request, key: str) -> Response:
        """Start the published version with the start form's data."""
        workflow = self.get_object()
        multipart = (request.content_type or "").startswith("multipart/")
        body = (s.StartWithFilesSerializer if multipart else s.StartSerializer)(data=request.data)
        body.is_valid(raise_exception=True)
        files = body.validated_data.get("file", [])
        try:
            check_files(files)
        except AttachmentRefused as exc:
            raise ValidationError({"file": [str(exc)]}) from None
        version = workflow.published_version
        if version is None:
            return conflict(f"{workflow.name} has no published version.")
        try:
            instance = start_instance(
                version,
                body.validated_data["data"],
                initiator=signed_in(request),
                business_key=body.validated_data["business_key"],
                trigger="api",
                hand_off_after=REQUEST_INLINE_BLOCKS,
            )
        except StartDataError as exc:
            return Response({"data": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        except InvalidState as exc:
            return conflict(str(exc))
        if files:  # checked above; the request may be decided already: the files belong to it
            attach_files(instance, files, signed_in(request), while_open=False)
        data = s.InstanceDetailSerializer(instance, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rotate the webhook secret",
        description="Returns the new secret once; it is never shown again. The previous secret stops working.",
        request=None,
        responses={200: s.WebhookSecretSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="webhook-secret")
    def webhook_secret(self, request: Request, key: str) -> Response:
        """A new secret for signing webhook requests."""
        workflow = self.get_object()
        secret = rotate_webhook_secret(workflow, actor=signed_in(request))
        url = request.build_absolute_uri(reverse("webhook", args=[workflow.key]))
        return Response({"webhook_secret": secret, "url": url})

    @extend_schema(
        summary="Turn the webhook off",
        request=None,
        responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @webhook_secret.mapping.delete
    def disable_webhook(self, request: Request, key: str) -> Response:
        """Clear the secret: the webhook URL answers 404 until a new secret is made."""
        disable_webhook(self.get_object(), actor=signed_in(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- instances ---------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Instances you may see"),
    retrieve=extend_schema(
        summary="An instance with its variables, steps and history",
        responses={200: s.InstanceDetailSerializer, 404: NOT_FOUND},
    ),
)
class InstanceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Process instances: yours, those shared with you, and those of workflows you may view."""

    serializer_class = s.InstanceSerializer
    filterset_class = InstanceFilter

    def get_queryset(self) -> QuerySet[ProcessInstance]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ProcessInstance.objects.none()
        instances = visible_instances(signed_in(self.request)).select_related(
            "workflow", "version", "initiator"
        )
        if self.action == "list":
            return instances
        return instances.prefetch_related("steps", "events", "attachments__uploaded_by")

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return s.InstanceSerializer if self.action == "list" else s.InstanceDetailSerializer

    @extend_schema(
        summary="Cancel a running instance",
        description="Allowed to its initiator and to users with change_workflow on its workflow.",
        request=s.CancelSerializer,
        responses={200: s.InstanceDetailSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Stop the instance, closing its steps, tasks, timers and child instances."""
        instance = self.get_object()
        if not can_cancel(signed_in(request), instance):
            raise PermissionDenied("Only the initiator or an operator of the workflow may cancel it.")
        body = s.CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            cancel_instance(instance.id, actor=signed_in(request), reason=body.validated_data["reason"])
        except InvalidState as exc:
            return conflict(str(exc))
        return Response(self.get_serializer(self.get_object()).data)

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        if self.action != "list" and not getattr(self, "swagger_fake_view", False):
            context.update(self._hidden_from(self.get_object()))
        return context

    def _hidden_from(self, instance: ProcessInstance) -> dict[str, Any]:
        """What someone who does not operate the workflow is not shown: the AI steps' conversations, the
        systems' own error messages (said in plain words instead) and, to the requester, the AI's
        answers (the people who decide see them, as on the request's page)."""
        user = signed_in(self.request)
        if can_operate(user, instance):
            return {}
        graph = graph_for(instance.version_id, instance.version.checksum)
        return {
            "plain_errors": True,
            "hidden_variables": ai.private_answer_names(graph) if instance.initiator_id == user.pk else set(),
            "hidden_steps": set(
                instance.steps.filter(node_id__in=ai.asking_nodes(graph)).values_list("id", flat=True)
            ),
        }

    @extend_schema(
        summary="Files attached to the request",
        request=None,
        responses={200: s.AttachmentSerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], url_path="attachments", url_name="attachments")
    def attachments(self, request: Request, pk: str) -> Response:
        """Everyone who may see the request sees its files."""
        files = self.get_object().attachments.select_related("uploaded_by")
        return Response(s.AttachmentSerializer(files, many=True, context={"request": request}).data)

    @extend_schema(
        summary="Attach files to your request while it is open",
        description=(
            "Multipart, one or more parts named `file`. Size, count and type limits apply "
            "(the type is read from the content); a refusal is a 400 naming `file`."
        ),
        request={"multipart/form-data": s.AttachmentUploadSerializer},
        responses={201: s.AttachmentSerializer(many=True), 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @attachments.mapping.post
    def attach(self, request: Request, pk: str) -> Response:
        """Only the requester, while the request runs."""
        instance = self.get_object()
        user = signed_in(request)
        if not can_attach(user, instance):
            raise PermissionDenied("Only the requester may add files, while the request is open.")
        body = s.AttachmentUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            made = attach_files(instance, body.validated_data["file"], user)
        except AttachmentRefused as exc:
            raise ValidationError({"file": [str(exc)]}) from None
        data = s.AttachmentSerializer(made, many=True, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Download a file of the request",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[0-9a-fA-F-]{32,36})",
        url_name="attachment-file",
    )
    def attachment_file(self, request: Request, pk: str, attachment_id: str) -> FileResponse:
        """Sent as a download, never shown inline."""
        attachment = self.get_object().attachments.filter(pk=_uuid_or_404(attachment_id)).first()
        if attachment is None:
            raise NotFound("No such file.")
        return file_response(attachment)

    @extend_schema(
        summary="Remove a file from the request",
        description=(
            "Whoever added the file, while the request is open and nobody else has acted on it since; "
            "an operator at any time, giving a `reason`. The history keeps the upload and records the removal."
        ),
        request=s.AttachmentRemovalSerializer,
        responses={204: None, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @attachment_file.mapping.delete
    def remove_attachment_file(self, request: Request, pk: str, attachment_id: str) -> Response:
        """Refusals say why (403), a missing reason names `reason` (400)."""
        attachment = self.get_object().attachments.filter(pk=_uuid_or_404(attachment_id)).first()
        if attachment is None:
            raise NotFound("No such file.")
        body = s.AttachmentRemovalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            remove_attachment(attachment, signed_in(request), reason=body.validated_data["reason"])
        except RemovalRefused as exc:
            raise PermissionDenied(str(exc)) from None
        except ReasonNeeded as exc:
            raise ValidationError({"reason": [str(exc)]}) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


def _uuid_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("No such file.") from None


# --- incidents ---------------------------------------------------------------------------

_FIX = extend_schema(
    request=s.IncidentFixSerializer,
    responses={200: s.IncidentSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: REFUSED},
)


@extend_schema_view(
    list=extend_schema(summary="Incidents you may see (open by default)"),
    retrieve=extend_schema(responses={200: s.IncidentSerializer, 404: NOT_FOUND}),
    retry=extend_schema(summary="Run the failed step again, optionally after correcting variables"),
    skip=extend_schema(summary="Treat the failed step as done, setting variables as its result"),
)
class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Failed steps waiting for an operator."""

    serializer_class = s.IncidentSerializer
    filterset_class = IncidentFilter

    def get_queryset(self) -> QuerySet[Incident]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Incident.objects.none()
        return visible_incidents(signed_in(self.request)).select_related(
            "instance__workflow", "step", "resolved_by"
        )

    def _operate(self, request: Request, operation: Any) -> Response:
        incident = self.get_object()
        if not can_operate(signed_in(request), incident.instance):
            raise PermissionDenied("You need the change workflow permission on this workflow.")
        body = s.IncidentFixSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            operation(
                incident.id, actor=signed_in(request), variables=body.validated_data["variables"] or None
            )
        except StartDataError as exc:  # a corrected value that does not fit its declared type
            raise ValidationError({"variables": exc.errors}) from None
        except InvalidState as exc:
            return conflict(str(exc))
        return Response(s.IncidentSerializer(self.get_object()).data)

    @_FIX
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        """Retry the failed step."""
        return self._operate(request, retry_incident)

    @_FIX
    @action(detail=True, methods=["post"])
    def skip(self, request: Request, pk: str) -> Response:
        """Skip the failed step."""
        return self._operate(request, skip_incident)


# --- messages ----------------------------------------------------------------------------


class MessageView(APIView):
    """Deliver a message to the instance waiting for it (or start one on a message start)."""

    @extend_schema(
        summary="Correlate a message",
        description=(
            "Resumes the oldest instance waiting for the message name and correlation key, or starts "
            "the workflow whose start event receives the message. Needs start_workflow on the workflow. "
            "The variables must be the fields the receiving Wait or Start says the message carries, "
            "of their types (when it declares none, any new names)."
        ),
        request=s.MessageSerializer,
        responses={
            200: s.MessageResultSerializer,
            400: OpenApiResponse(
                description='Variables errors by field: `{"variables": {field: [messages]}}` for a field '
                "the receiving Wait or Start does not declare, or of the wrong type; or a list of messages."
            ),
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def post(self, request: Request) -> Response:
        """Correlate the message and say which instance it reached."""
        body = s.MessageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        name, key = body.validated_data["name"], body.validated_data["correlation_key"]
        nothing = f"No process waits for message {name!r} with key {key!r}."
        targets = list(message_targets(name, key))
        if not targets:
            raise NotFound(nothing)
        user = signed_in(request)
        if not all(has_workflow_perm(user, "start_workflow", w) for w in targets):
            visible = visible_workflows(user).filter(pk__in=[w.pk for w in targets])
            if not visible.exists():
                raise NotFound(nothing)  # as if nothing waited: do not reveal other people's processes
            raise PermissionDenied("You need the start workflow permission to send this message.")
        try:
            instance = correlate_message(
                name,
                key,
                body.validated_data["variables"],
                actor=user,
                # Checked again on the process actually reached, under its lock: the set may have changed.
                authorize=lambda workflow: has_workflow_perm(user, "start_workflow", workflow),
                hand_off_after=REQUEST_INLINE_BLOCKS,
            )
        except NoSubscription as exc:
            raise NotFound(str(exc)) from None
        except MessageRefused as exc:
            if exc.variables:
                raise ValidationError({"variables": [str(exc)]}) from None
            raise PermissionDenied(str(exc)) from None
        except StartDataError as exc:
            raise ValidationError({"variables": exc.errors}) from None
        except InvalidState as exc:
            return conflict(str(exc))
        return Response({"instance": str(instance.id), "status": instance.status})
