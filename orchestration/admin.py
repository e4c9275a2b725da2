"""Admin for definitions and runtime state: read-mostly, state changes go through engine actions."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from guardian.admin import GuardedModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from orchestration.connections import store_headers
from orchestration.engine import InvalidState, cancel_instance, retry_incident
from orchestration.models import Connection, Event, Incident, ProcessInstance, Step, Workflow, WorkflowVersion


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
        # Diagrams change in the designer, where drafts carry revisions; here they are only read.
        return False


class StepInline(admin.TabularInline):
    model = Step
    fields = ("node_name", "kind", "status", "attempt", "error", "started_at", "ended_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _RecordsOnly(admin.ModelAdmin):
    """Runtime records come from the engine: the admin looks and acts through actions, never adds."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ProcessInstance)
class ProcessInstanceAdmin(_RecordsOnly):
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

    @admin.action(description="Cancel selected running instances", permissions=["change"])
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
class IncidentAdmin(_RecordsOnly):
    list_display = ("step", "instance", "error", "created_at", "resolution")
    list_filter = ("resolution",)
    readonly_fields = [f.name for f in Incident._meta.fields]
    actions = ["retry_selected"]

    @admin.action(description="Retry selected incidents", permissions=["change"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        done = 0
        for incident in queryset.filter(resolved_at__isnull=True):
            try:
                retry_incident(incident.id, actor=request.user)
                done += 1
            except InvalidState as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(
            request, f"Retried {done} incident(s).", messages.SUCCESS if done else messages.INFO
        )


@admin.register(Event)
class EventAdmin(_RecordsOnly):  # the audit trail: append-only, and only the engine appends
    list_display = ("created_at", "kind", "message", "actor_label", "instance")
    list_filter = ("kind",)
    search_fields = ("message", "instance__id")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ConnectionForm(forms.ModelForm):
    """Secret headers are write-only: typed in to replace what is stored, never shown back."""

    new_headers = forms.CharField(
        required=False,
        label="Replace secret headers",
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text='A JSON object, e.g. {"Authorization": "Bearer …"}. Leave blank to keep the stored headers.',
    )
    clear_headers = forms.BooleanField(required=False, label="Remove all secret headers")

    class Meta:
        model = Connection
        fields = ("name", "label", "base_url", "settings")
        field_classes = {"base_url": forms.CharField}

    def clean_base_url(self) -> str:
        url: str = self.cleaned_data["base_url"].strip()
        if url and not url.startswith(("http://", "https://")):
            raise forms.ValidationError("Use an http:// or https:// address.")
        return url

    def clean_new_headers(self) -> dict[str, str] | None:
        text = self.cleaned_data["new_headers"].strip()
        if not text:
            return None
        try:
            headers = json.loads(text)
        except ValueError:
            raise forms.ValidationError("Enter a JSON object of header names and values.") from None
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and "\n" not in v for k, v in headers.items()
        ):
            raise forms.ValidationError("Each header needs a name and a one-line text value.")
        return headers


@admin.register(Connection)
class ConnectionAdmin(SimpleHistoryAdmin):
    """Connections, with their history of changes (the encrypted secrets are not kept in it)."""

    form = ConnectionForm
    list_display = ("name", "label", "base_url", "header_names", "updated_at", "updated_by")
    search_fields = ("name", "label", "base_url")
    readonly_fields = ("header_names", "updated_at", "updated_by")
    fields = (
        "name",
        "label",
        "base_url",
        "settings",
        "header_names",
        "new_headers",
        "clear_headers",
        "updated_at",
        "updated_by",
    )

    def save_model(self, request: HttpRequest, obj: Connection, form: Any, change: bool) -> None:
        if form.cleaned_data.get("clear_headers"):
            store_headers(obj, {})
        elif form.cleaned_data.get("new_headers") is not None:
            store_headers(obj, form.cleaned_data["new_headers"])
        obj.updated_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


admin.site.site_header = "Administration"  # beside the Baton logo (templates/admin/base_site.html)
admin.site.site_title = "Baton administration"
admin.site.index_title = "People, limits, connections and processes"
admin.site.site_url = "/"


# Sections other apps bring, in the words administrators use (the app labels, tables and URLs stay
# theirs). Display names only: a model's migration state is its Meta as declared, not these, so
# those apps need no migration and upgrade as before.
_PLAIN_NAMES: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "authtoken": (
        "API tokens",
        {"token": ("API token", "API tokens"), "tokenproxy": ("API token", "API tokens")},
    ),
    "axes": (
        "Sign-in lockouts",
        {
            "accessattempt": ("sign-in attempt", "sign-in attempts"),
            "accessfailurelog": ("failed sign-in", "failed sign-ins"),
            "accesslog": ("sign-in record", "sign-in history"),
        },
    ),
}


def _name_third_party_sections() -> None:
    for label, (section, models) in _PLAIN_NAMES.items():
        if label not in apps.app_configs:
            continue
        config = apps.get_app_config(label)
        config.verbose_name = section
        for model_name, (singular, plural) in models.items():
            options = config.get_model(model_name)._meta
            options.verbose_name, options.verbose_name_plural = singular, plural


_name_third_party_sections()
