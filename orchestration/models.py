"""Definitions (Workflow, WorkflowVersion) and runtime state of the engine.

Nothing outside ``orchestration.engine`` and ``orchestration.definitions`` sets a
status on these rows: those modules' action functions own every state change, and
steps and instances change status only through ``orchestration.engine.transitions``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from simple_history.models import HistoricalRecords

from orchestration.request_numbers import NextRequestNumber, format_number


class WorkflowQuerySet(models.QuerySet["Workflow"]):
    """Workflows, with what the workflow lists show."""

    def with_state(self) -> WorkflowQuerySet:
        """Annotate each workflow's state in subqueries, so a list costs one query whatever its length.

        ``published_number``, ``last_published_at``, ``last_published_by`` (username): the
        published version; ``has_draft``, ``draft_revision``, ``draft_saved_at``,
        ``draft_created_by`` (username): the current draft; ``running``: instances running.
        The designer's list and the API's list both read these.
        """
        published = WorkflowVersion.objects.filter(
            workflow=OuterRef("pk"), status=WorkflowVersion.Status.PUBLISHED
        ).order_by("-number")
        drafts = WorkflowVersion.objects.filter(
            workflow=OuterRef("pk"), status=WorkflowVersion.Status.DRAFT
        ).order_by("-id")
        running = (
            ProcessInstance.objects.filter(workflow=OuterRef("pk"), status=ProcessInstance.Status.RUNNING)
            .order_by()
            .values("workflow")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return self.select_related("owner").annotate(
            published_number=Subquery(published.values("number")[:1]),
            last_published_at=Subquery(published.values("published_at")[:1]),
            last_published_by=Subquery(published.values("published_by__username")[:1]),
            has_draft=Exists(drafts),
            draft_revision=Subquery(drafts.values("revision")[:1]),
            draft_saved_at=Subquery(drafts.values("updated_at")[:1]),
            draft_created_by=Subquery(drafts.values("created_by__username")[:1]),
            running=Coalesce(Subquery(running), Value(0)),
        )


class Workflow(models.Model):
    """A process people design and run; its diagrams live in versions."""

    key = models.SlugField(
        max_length=100,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9_-]*$", "Use lowercase letters, digits, - and _.")],
        help_text="Stable identifier used by the API, webhooks and call activities.",
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    webhook_secret = models.TextField(
        blank=True,
        editable=False,
        help_text="HMAC-SHA256 key for the inbound webhook, encrypted (orchestration.encryption); empty disables it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [
            ("design_workflow", "Can edit drafts of the workflow"),
            ("publish_workflow", "Can publish versions of the workflow"),
            ("start_workflow", "Can start instances of the workflow"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def published_version(self) -> WorkflowVersion | None:
        return self.versions.filter(status=WorkflowVersion.Status.PUBLISHED).order_by("-number").first()


class WorkflowVersion(models.Model):
    """One diagram of a workflow: an editable draft or a frozen published version."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(null=True, blank=True, help_text="Set when published.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    bpmn_xml = models.TextField()
    graph = models.JSONField(null=True, blank=True, help_text="Compiled graph the runtime reads.")
    checksum = models.CharField(max_length=64, blank=True)
    change_summary = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who saved the draft last: a conflicting editor is told who.",
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    # Bumped on every draft save: a second editor with an older revision is told, not overwritten.
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["workflow", "-number", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="unique_version_number"),
        ]

    def __str__(self) -> str:
        label = f"v{self.number}" if self.number else "draft"
        return f"{self.workflow.key} {label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk and self.status != self.Status.DRAFT:
            stored = WorkflowVersion.objects.filter(pk=self.pk).values("bpmn_xml", "graph", "status").first()
            if (
                stored
                and stored["status"] != self.Status.DRAFT
                and (stored["bpmn_xml"] != self.bpmn_xml or stored["graph"] != self.graph)
            ):
                raise ValidationError("A published version is immutable; start a new draft instead.")
        super().save(*args, **kwargs)


# Variables that name what a request is about, in order of preference (its title in lists).
SUBJECT_VARIABLES = ("title", "subject", "item", "summary", "name")


class ProcessInstance(models.Model):
    """One run of a published workflow version."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The request number people quote (REQ-2026-000123): given by the database in the INSERT
    # that writes the request and returned by it (orchestration/request_numbers.py).
    number = models.BigIntegerField(
        "request number", unique=True, editable=False, db_default=NextRequestNumber()
    )
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="instances")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="instances")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    outcome = models.CharField(max_length=64, blank=True)
    business_key = models.CharField(max_length=200, blank=True, db_index=True)
    variables = models.JSONField(default=dict)
    initiator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="started_instances",
    )
    trigger = models.CharField(max_length=32, default="api")
    parent_step = models.ForeignKey(
        "Step", null=True, blank=True, on_delete=models.SET_NULL, related_name="child_instances"
    )
    has_incident = models.BooleanField(default=False)
    # Set when the instance is made, not when its row is written (at the end of its first run).
    started_at = models.DateTimeField(default=timezone.now, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Optimistic concurrency: bumped by every advance().
    lock_version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        permissions = [("view_instance", "Can view the instance and its history")]
        indexes = [
            models.Index(fields=["workflow", "status", "-started_at"], name="instance_wf_status"),
            models.Index(fields=["status", "-started_at"], name="instance_status"),
            # The operations console: its default order over every workflow, and "Needs attention".
            models.Index(fields=["-started_at", "-id"], name="instance_started"),
            models.Index(fields=["-started_at"], name="instance_attention", condition=Q(has_incident=True)),
            # The status tabs' counts of "Needs attention": each status's count is a short range.
            models.Index(fields=["status"], name="instance_attention_status", condition=Q(has_incident=True)),
            models.Index(fields=["version", "-started_at"], name="instance_version"),
            # The console's list grouped by workflow, each newest first.
            models.Index(fields=["workflow", "-started_at", "-id"], name="instance_wf_started"),
            # "Started by" in the console: one person's requests, newest first, a page at a time
            # (and the list grouped by who started it).
            models.Index(fields=["initiator", "-started_at", "-id"], name="instance_initiator_started"),
            # "Recently finished" in the console: instance_ended, made by migration 0011 on PostgreSQL
            # only (SQLite has no NULLS LAST in an index).
            # "Needs attention" counted within one workflow (and version).
            models.Index(
                fields=["workflow", "status", "version"],
                name="instance_attention_wf",
                condition=Q(has_incident=True),
            ),
        ]

    def __str__(self) -> str:
        return self.reference or f"{self.workflow.key} {str(self.id)[:8]}"

    @property
    def reference(self) -> str:
        """The request number people read, quote and search for: ``REQ-2026-000123``."""
        return format_number(self.number, self.started_at)

    @property
    def title(self) -> str:
        """What the request is called: its subject (item, title…) or its workflow's name."""
        variables = self.variables or {}
        for name in SUBJECT_VARIABLES:
            value = variables.get(name)
            if isinstance(value, str) and value:
                return value
        return str(self.workflow.name)


# Step.OPEN_STATUSES by value, for its partial index (a Meta cannot read the class it is in).
OPEN_STEP_STATUSES = ("active", "waiting", "queued", "running", "retry_wait", "incident")


class Step(models.Model):
    """One visit of a token to a block."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"  # being executed inline by advance()
        WAITING = "waiting", "Waiting"  # for people, a timer, a message or a child instance
        QUEUED = "queued", "Queued"  # dispatched to a Celery worker
        RUNNING = "running", "Running"  # claimed by a worker
        RETRY_WAIT = "retry_wait", "Waiting to retry"
        INCIDENT = "incident", "Incident"
        COMPLETED = "completed", "Completed"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATUSES = (
        Status.ACTIVE,
        Status.WAITING,
        Status.QUEUED,
        Status.RUNNING,
        Status.RETRY_WAIT,
        Status.INCIDENT,
    )

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="steps")
    node_id = models.CharField(max_length=200)
    node_name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    incoming_flow = models.CharField(max_length=200, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=1)
    idempotency_key = models.UUIDField(default=uuid.uuid4, editable=False)
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Set on the step that fires a parallel join: the unique constraint makes a double fire impossible.
    join_key = models.CharField(max_length=300, null=True, blank=True)  # noqa: DJ001 (NULLs stay out of the unique constraint)
    # The Group or "For each" step this step runs inside (None: the process itself). Cancelling
    # that step cancels every open step inside it; it completes when none is left open.
    scope = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="inner_steps"
    )
    # For one item of a "For each": its position in the list (its item and its output's place).
    loop_index = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "join_key"], name="unique_join_fire", condition=Q(join_key__isnull=False)
            )
        ]
        indexes = [
            models.Index(fields=["instance", "status"], name="step_instance_status"),
            models.Index(fields=["status", "node_id"], name="step_status_node"),
            # The operations console's "Waiting at" filter: only open steps, read without the table.
            models.Index(
                fields=["node_name", "node_id", "instance"],
                name="step_open_node",
                condition=Q(status__in=OPEN_STEP_STATUSES),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.node_name or self.node_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Event(models.Model):
    """Append-only history: who did what, when, and what data changed."""

    instance = models.ForeignKey(
        ProcessInstance, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    workflow = models.ForeignKey(
        Workflow, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=200, blank=True, help_text="Who, when not a user: worker, ticker, webhook."
    )
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["instance", "created_at"], name="event_instance_time")]

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValidationError("Events are append-only.")
        super().save(*args, **kwargs)


class Outbox(models.Model):
    """Work to hand to Celery, written in the same transaction as what it belongs to.

    A step's row dispatches that step (``orchestration.run_step``); a row without a
    step runs the registered Celery task named ``task`` with ``args`` once (an
    approval email), deleted when that task has run.
    """

    step = models.OneToOneField(Step, null=True, blank=True, on_delete=models.CASCADE, related_name="outbox")
    task = models.CharField(max_length=100, default="orchestration.run_step")
    args = models.JSONField(default=list, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # The relay republishes the row after this moment unless the step has moved on.
    republish_at = models.DateTimeField(db_index=True)
    publish_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        if self.step_id is None:
            return f"outbox {self.task} #{self.pk}"
        return f"outbox step {self.step_id} attempt {self.attempt}"


class Timer(models.Model):
    """Something due at a moment: a wait, a retry, a due date, a reminder, a scheduled start."""

    class Kind(models.TextChoices):
        WAIT = "wait", "Wait"
        RETRY = "retry", "Retry"
        DUE = "due", "Due date"
        REMINDER = "reminder", "Reminder"
        ESCALATION = "escalation", "Escalation"
        SCHEDULE = "schedule", "Scheduled start"
        BOUNDARY = "boundary", "Deadline or reminder"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    due_at = models.DateTimeField()
    instance = models.ForeignKey(
        ProcessInstance, null=True, blank=True, on_delete=models.CASCADE, related_name="timers"
    )
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.CASCADE, related_name="timers")
    version = models.ForeignKey(
        WorkflowVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="timers"
    )
    payload = models.JSONField(default=dict, blank=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"],
                name="timer_pending_due",
                condition=Q(fired_at__isnull=True, cancelled_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.due_at:%Y-%m-%d %H:%M:%S}"


class MessageSubscription(models.Model):
    """A waiting catch event (instance set) or a message start event (version set)."""

    message_name = models.CharField(max_length=200)
    correlation_key = models.CharField(max_length=200, blank=True)
    instance = models.ForeignKey(
        ProcessInstance, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    # A step may wait for several messages (a message boundary, a "first event wins").
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    version = models.ForeignKey(
        WorkflowVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    node_id = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["message_name", "correlation_key"], name="subscription_lookup")]

    def __str__(self) -> str:
        return f"{self.message_name} [{self.correlation_key}]"


class Incident(models.Model):
    """A step that failed beyond its retries and waits for an operator."""

    class Resolution(models.TextChoices):
        RETRIED = "retried", "Retried"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Cancelled with the instance"
        MOVED = "moved", "Moved to another step"

    class Cause(models.TextChoices):
        STEP_FAILED = "step_failed", "The step failed"
        OUTPUT_MAPPING = "output_mapping", "The step's output could not be mapped"

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="incidents")
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="incidents")
    error = models.TextField()
    # Retrying an output-mapping incident maps the stored output again instead of re-running the connector.
    cause = models.CharField(max_length=16, choices=Cause.choices, default=Cause.STEP_FAILED)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["resolved_at", "-created_at"], name="incident_open")]

    def __str__(self) -> str:
        return f"incident on {self.step}"


class WebhookDelivery(models.Model):
    """A signature already accepted: the same signed body is refused a second time."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    signature = models.CharField(max_length=128)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workflow", "signature"], name="unique_webhook_delivery")
        ]

    def __str__(self) -> str:
        return f"delivery to {self.workflow_id} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class Connection(models.Model):
    """Where and how a connector reaches an outside system: a base URL and secret headers, encrypted at rest.

    Blocks name a connection instead of carrying credentials in the diagram. The
    secrets are readable only through :mod:`orchestration.connections` (by the
    worker, when a step runs); pages and the API show header names, never values.
    """

    name = models.SlugField(max_length=100, unique=True, help_text="What blocks refer to, e.g. erp-prod.")
    label = models.CharField(max_length=200, blank=True)
    base_url = models.URLField(
        "base URL",
        max_length=2000,
        blank=True,
        help_text="Relative URLs of blocks using this connection start here.",
    )
    secret_token = models.TextField(blank=True, editable=False, help_text="Encrypted secret headers.")
    header_names = models.CharField(
        max_length=500, blank=True, editable=False, help_text="Names of the stored headers (not secret)."
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Non-secret settings a connector reads, e.g. {"model": "gpt-4o-mini"} for the AI connector
    # (after the fields above: in this class body the name shadows django.conf.settings).
    settings = models.JSONField(
        default=dict, blank=True, help_text='Non-secret settings, e.g. {"model": "…"}.'
    )
    # The encrypted secrets are never copied into history: its pages and diffs could show them.
    history = HistoricalRecords(excluded_fields=["secret_token"])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.label or self.name


def _attachment_path(attachment: Attachment, filename: str) -> str:
    """Where the file is kept: the request's id and the attachment's, never a name someone typed."""
    return f"attachments/{attachment.instance_id}/{attachment.id}"


class Attachment(models.Model):
    """A file a requester attached to a request (a quote, an invoice), kept through Django's storage API.

    Written only by :mod:`orchestration.attachments`, which checks size, count and
    type (by the content, not the name) and records each upload in the history.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, max_length=200)
    name = models.CharField(max_length=200, help_text="The file's name as uploaded, made safe for downloads.")
    content_type = models.CharField(max_length=120, help_text="The type read from the content.")
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        indexes = [models.Index(fields=["instance", "uploaded_at"], name="attachment_instance_time")]

    def __str__(self) -> str:
        return self.name
