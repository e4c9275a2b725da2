"""Shapes of the API's requests and answers.

Input serializers validate (a 400 names the field); output serializers only
read. None of them exposes ``Workflow.webhook_secret``.
"""

from __future__ import annotations

from typing import Any, Final

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from orchestration.bpmn.compiler import Problem
from orchestration.bpmn.parse import MAX_SIZE
from orchestration.engine.human import provider
from orchestration.models import Attachment, Event, Incident, ProcessInstance, Step, Workflow, WorkflowVersion

# --- problems and drafts ----------------------------------------------------------


class ProblemSerializer(serializers.Serializer[Problem]):
    """One compiler error or warning, located by element (and line/column when known)."""

    element_id = serializers.CharField(allow_null=True)
    element_name = serializers.CharField()
    message = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    column = serializers.IntegerField(allow_null=True)


def problems(items: list[Problem]) -> list[dict[str, Any]]:
    """Problems as API data."""
    data: list[dict[str, Any]] = ProblemSerializer(items, many=True).data  # type: ignore[arg-type, assignment]
    return data


class DetailSerializer(serializers.Serializer[None]):
    """An error answer: what went wrong, in a sentence."""

    detail = serializers.CharField()


class DraftSerializer(serializers.Serializer[WorkflowVersion]):
    """The editable draft: its XML, its revision and what the compiler says about it."""

    bpmn_xml = serializers.CharField()
    revision = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    ok = serializers.BooleanField()
    errors = ProblemSerializer(many=True)  # type: ignore[assignment]  # a field, not the Serializer attribute of that name
    warnings = ProblemSerializer(many=True)


class DraftWriteSerializer(serializers.Serializer[None]):
    """A draft save: the diagram and the revision the editor loaded (omit to overwrite)."""

    bpmn_xml = serializers.CharField(trim_whitespace=False, max_length=MAX_SIZE)
    revision = serializers.IntegerField(required=False, min_value=0)


class RevisionQuerySerializer(serializers.Serializer[None]):
    """The expected revision of a raw XML draft save, as a query parameter."""

    revision = serializers.IntegerField(required=False, min_value=0)


class DraftUploadSerializer(serializers.Serializer[None]):
    """A draft save as a file upload (multipart form)."""

    file = serializers.FileField()
    revision = serializers.IntegerField(required=False, min_value=0)


class ValidateSerializer(serializers.Serializer[None]):
    """XML to check without saving; omitted, the current draft is checked."""

    bpmn_xml = serializers.CharField(required=False, trim_whitespace=False)


class SaveResultSerializer(serializers.Serializer[None]):
    """The outcome of a draft save or a validation."""

    revision = serializers.IntegerField(required=False)
    ok = serializers.BooleanField()
    errors = ProblemSerializer(many=True)  # type: ignore[assignment]  # a field, not the Serializer attribute of that name
    warnings = ProblemSerializer(many=True)


class PublishSerializer(serializers.Serializer[None]):
    """Publish the current draft; ``revision`` guards against publishing a draft changed meanwhile."""

    revision = serializers.IntegerField(required=False, min_value=0)


class ProblemListSerializer(serializers.Serializer[None]):
    """Why a diagram cannot be published: every error by element."""

    errors = ProblemSerializer(many=True)  # type: ignore[assignment]  # a field, not the Serializer attribute of that name


class ConflictSerializer(serializers.Serializer[None]):
    """The draft changed since the editor loaded it."""

    detail = serializers.CharField()
    revision = serializers.IntegerField()


# --- workflows and versions ---------------------------------------------------------


class DraftInfoSerializer(serializers.ModelSerializer[WorkflowVersion]):
    """Short facts about the current draft, for listings."""

    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = WorkflowVersion
        fields = ["revision", "updated_at", "created_by"]
        read_only_fields = fields


class WorkflowSerializer(serializers.ModelSerializer[Workflow]):
    """A workflow; created with an optional first diagram (a blank one otherwise)."""

    owner: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    bpmn_xml = serializers.CharField(
        write_only=True, required=False, trim_whitespace=False, help_text="The first draft's BPMN XML."
    )
    published_version = serializers.SerializerMethodField()
    draft = serializers.SerializerMethodField()
    webhook_enabled = serializers.SerializerMethodField()

    class Meta:
        model = Workflow
        fields = [
            "key",
            "name",
            "description",
            "owner",
            "bpmn_xml",
            "published_version",
            "draft",
            "webhook_enabled",
            "created_at",
        ]
        read_only_fields = ["owner", "created_at"]

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            # The key is the workflow's identity in URLs and webhooks: fixed once created.
            fields["key"].read_only = True
        return fields

    # The workflow comes from Workflow.objects.with_state(): its annotations answer without a query.

    @extend_schema_field(OpenApiTypes.INT)
    def get_published_version(self, workflow: Workflow) -> int | None:
        number: int | None = workflow.published_number  # type: ignore[attr-defined]
        return number

    @extend_schema_field(DraftInfoSerializer(allow_null=True))
    def get_draft(self, workflow: Workflow) -> dict[str, Any] | None:
        if not workflow.has_draft:  # type: ignore[attr-defined]
            return None
        return {
            "revision": workflow.draft_revision,  # type: ignore[attr-defined]
            "updated_at": serializers.DateTimeField().to_representation(workflow.draft_saved_at),  # type: ignore[attr-defined]
            "created_by": workflow.draft_created_by,  # type: ignore[attr-defined]
        }

    def get_webhook_enabled(self, workflow: Workflow) -> bool:
        return bool(workflow.webhook_secret)


class VersionSerializer(serializers.ModelSerializer[WorkflowVersion]):
    """A published or retired version."""

    published_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = WorkflowVersion
        fields = ["number", "status", "published_by", "published_at", "change_summary", "checksum"]
        read_only_fields = fields


class WebhookSecretSerializer(serializers.Serializer[None]):
    """A new webhook secret, shown once, and where to send signed requests."""

    webhook_secret = serializers.CharField()
    url = serializers.CharField()


# --- instances ----------------------------------------------------------------------


class StartSerializer(serializers.Serializer[None]):
    """Start data (the start form's fields) and an optional business key."""

    data = serializers.DictField(required=False, default=dict)  # type: ignore[assignment]  # a field, not the Serializer attribute of that name
    business_key = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class StartWithFilesSerializer(serializers.Serializer[None]):
    """A start as multipart: the start data as JSON text in ``data``, files as parts named ``file``."""

    data = serializers.JSONField(  # type: ignore[assignment]  # a field, not the Serializer attribute of that name
        binary=True,
        required=False,
        default=dict,
        help_text='The start form\'s fields as JSON text: `{"item": "Desk"}`.',
    )
    business_key = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    file = serializers.ListField(child=serializers.FileField(), required=False, default=list)

    def validate_data(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise serializers.ValidationError('Give the fields as a JSON object, such as {"item": "Desk"}.')
        return value


class StepSerializer(serializers.ModelSerializer[Step]):
    """One visit of a token to a block; a waiting Approval lists who may decide it."""

    tasks = serializers.SerializerMethodField()

    class Meta:
        model = Step
        fields = [
            "id",
            "node_id",
            "node_name",
            "kind",
            "status",
            "attempt",
            "error",
            "started_at",
            "ended_at",
            "tasks",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "array",
            "nullable": True,
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "assignee": {"type": "string", "nullable": True},
                    "group": {"type": "string", "nullable": True},
                    "holder": {"type": "string", "description": "Who has it, in words."},
                },
            },
        }
    )
    def to_representation(self, instance: Step) -> dict[str, Any]:
        shown: dict[str, Any] = super().to_representation(instance)
        if shown.get("error") and self.context.get("plain_errors"):
            # A system's own words (addresses, what it quoted back) are for the people who fix it.
            shown["error"] = PLAIN_ERROR
        return shown

    def get_tasks(self, step: Step) -> list[dict[str, Any]] | None:
        if step.kind != "user_task" or step.status != Step.Status.WAITING:
            return None
        described: list[dict[str, Any]] = provider().describe(step).get("tasks", [])
        return described


# An AI step's own history entries as said to people who do not operate its workflow.
_AI_EVENT_WORDS: Final = {"decision.ai": "The AI chose the path", "step.tool_call": "The AI used a tool"}
# A step's failure as said to people who do not operate its workflow (the requester's page says so too).
PLAIN_ERROR: Final = "A technical problem stopped this step; the people who run this process see it."
# History entries that quote a system's error, and how they read without it.
_ERROR_EVENT_WORDS: Final = {
    "step.retry_scheduled": "A technical problem; trying again",
    "incident.raised": PLAIN_ERROR,
}


class EventSerializer(serializers.ModelSerializer[Event]):
    """One history entry."""

    class Meta:
        model = Event
        fields = ["kind", "message", "actor_label", "data", "created_at"]
        read_only_fields = fields

    def to_representation(self, instance: Event) -> dict[str, Any]:
        shown: dict[str, Any] = super().to_representation(instance)
        # An AI step's conversation and answers are for operators (the context names its steps).
        if instance.step_id is not None and instance.step_id in self.context.get("hidden_steps", ()):
            # Its tool calls too: what the AI looked up is part of its conversation.
            hidden = ("output", "changes", "arguments", "result", "error")
            shown["data"] = {k: v for k, v in instance.data.items() if k not in hidden}
            if instance.kind in _AI_EVENT_WORDS:
                # Their messages quote the AI's choice and reason, or what a tool answered.
                shown["message"], shown["data"] = _AI_EVENT_WORDS[instance.kind], {}
        if self.context.get("plain_errors") and instance.kind in _ERROR_EVENT_WORDS:
            shown["message"] = _ERROR_EVENT_WORDS[instance.kind]
            shown["data"] = {k: v for k, v in shown["data"].items() if k != "error"}
        return shown


class AttachmentSerializer(serializers.ModelSerializer[Attachment]):
    """A file on a request; ``download`` answers only to people who may see the request."""

    uploaded_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    download = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size", "uploaded_by", "uploaded_at", "download"]
        read_only_fields = fields

    def get_download(self, attachment: Attachment) -> str:
        return reverse(
            "instance-attachment-file",
            kwargs={"pk": attachment.instance_id, "attachment_id": attachment.id},
            request=self.context.get("request"),
        )


class AttachmentUploadSerializer(serializers.Serializer[None]):
    """One or more files, as multipart parts named ``file``."""

    file = serializers.ListField(child=serializers.FileField(), allow_empty=False)


class AttachmentRemovalSerializer(serializers.Serializer[None]):
    """Why the file is removed: needed from an operator removing someone's file (kept in the history)."""

    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class InstanceSerializer(serializers.ModelSerializer[ProcessInstance]):
    """A process instance as listed."""

    request_number = serializers.CharField(
        source="reference", read_only=True, help_text="The number people quote, e.g. REQ-2026-000123."
    )
    workflow: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="key", read_only=True
    )
    version = serializers.IntegerField(source="version.number", read_only=True)
    initiator: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = ProcessInstance
        fields = [
            "id",
            "request_number",
            "workflow",
            "version",
            "status",
            "outcome",
            "business_key",
            "initiator",
            "trigger",
            "has_incident",
            "started_at",
            "ended_at",
        ]
        read_only_fields = fields


# drf-spectacular names an enum after the one component using it; a second component
# with the same choices would force a hash-suffixed name, so the detail refers to it.
@extend_schema_field({"allOf": [{"$ref": "#/components/schemas/InstanceStatusEnum"}], "readOnly": True})
class _InstanceStatusField(serializers.ChoiceField):
    """The instance status, documented as the instance list's enum."""


class InstanceDetailSerializer(InstanceSerializer):
    """A process instance with its variables, steps and history."""

    status = _InstanceStatusField(choices=ProcessInstance.Status.choices, read_only=True)
    steps = StepSerializer(many=True, read_only=True)
    history = EventSerializer(source="events", many=True, read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta(InstanceSerializer.Meta):
        fields = [*InstanceSerializer.Meta.fields, "variables", "steps", "history", "attachments"]
        read_only_fields = fields

    def to_representation(self, instance: ProcessInstance) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        hidden = self.context.get("hidden_variables", ())
        data["variables"] = {k: v for k, v in (data.get("variables") or {}).items() if k not in hidden}
        return data


class CancelSerializer(serializers.Serializer[None]):
    """Why the instance is cancelled (recorded in its history)."""

    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=400)


# --- incidents ----------------------------------------------------------------------


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    """A failed step waiting for an operator."""

    instance = serializers.UUIDField(source="instance_id", read_only=True)  # type: ignore[assignment]  # a field, not the Serializer attribute of that name
    workflow = serializers.CharField(source="instance.workflow.key", read_only=True)
    node_id = serializers.CharField(source="step.node_id", read_only=True)
    node_name = serializers.CharField(source="step.node_name", read_only=True)
    resolved_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Incident
        fields = [
            "id",
            "instance",
            "workflow",
            "node_id",
            "node_name",
            "error",
            "created_at",
            "resolved_at",
            "resolution",
            "resolved_by",
        ]
        read_only_fields = fields


class IncidentFixSerializer(serializers.Serializer[None]):
    """Variables to correct before retrying, or to set as the skipped step's result."""

    variables = serializers.DictField(required=False, default=dict)


# --- messages -----------------------------------------------------------------------


class MessageSerializer(serializers.Serializer[None]):
    """A message for a waiting instance (or a message start event)."""

    name = serializers.CharField(max_length=200)
    correlation_key = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    variables = serializers.DictField(
        required=False,
        default=dict,
        help_text="The values the message carries, by name: the fields the receiving Wait or Start "
        "declares, of their types (any new names when it declares none).",
    )


class MessageResultSerializer(serializers.Serializer[None]):
    """The instance the message resumed or started."""

    instance = serializers.UUIDField()  # type: ignore[assignment]  # a field, not the Serializer attribute of that name
    status = serializers.CharField()
