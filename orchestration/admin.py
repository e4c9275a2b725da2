"""Admin for definitions and runtime state: read-mostly, state changes go through engine actions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from guardian.admin import GuardedModelAdmin

from orchestration.engine import InvalidState, cancel_instance, retry_incident
from orchestration.models import Event, Incident, ProcessInstance, Step, Workflow, WorkflowVersion


class VersionInline(admin.TabularInline):
    model = WorkflowVersion
    fields = ("number", "status", "published_by", "published_at", "change_summary")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Workflow)
class WorkflowAdmin(GuardedModelAdmin):
    list_display = ("name", "key", "owner", "created_at")
    search_fields = ("name", "key", "description")
    inlines = [VersionInline]
    exclude = ("webhook_secret",)


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(admin.ModelAdmin):
    list_display = ("workflow", "number", "status", "published_by", "published_at")
    list_filter = ("status", "workflow")
    readonly_fields = ("workflow", "number", "status", "checksum", "graph", "published_by", "published_at")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or obj.status == WorkflowVersion.Status.DRAFT


class StepInline(admin.TabularInline):
    model = Step
    fields = ("node_name", "kind", "status", "attempt", "error", "started_at", "ended_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProcessInstance)
class ProcessInstanceAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "workflow",
        "version",
        "status",
        "outcome",
        "has_incident",
        "initiator",
        "started_at",
    )
    list_filter = ("status", "has_incident", "workflow")
    search_fields = ("id", "business_key", "initiator__username")
    readonly_fields = [f.name for f in ProcessInstance._meta.fields]
    inlines = [StepInline]
    actions = ["cancel_selected"]

    @admin.action(description="Cancel selected running instances")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[ProcessInstance]) -> None:
        done = 0
        for instance_id in queryset.filter(status=ProcessInstance.Status.RUNNING).values_list(
            "id", flat=True
        ):
            try:
                cancel_instance(instance_id, actor=request.user, reason="Cancelled in the admin")
                done += 1
            except InvalidState:
                pass
        self.message_user(request, f"Cancelled {done} instance(s).", messages.SUCCESS)


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("step", "instance", "error", "created_at", "resolution")
    list_filter = ("resolution",)
    readonly_fields = [f.name for f in Incident._meta.fields]
    actions = ["retry_selected"]

    @admin.action(description="Retry selected incidents")
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        for incident in queryset.filter(resolved_at__isnull=True):
            try:
                retry_incident(incident.id, actor=request.user)
            except InvalidState as exc:
                self.message_user(request, str(exc), messages.WARNING)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "message", "actor_label", "instance")
    list_filter = ("kind",)
    search_fields = ("message", "instance__id")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
