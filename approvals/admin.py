"""Admin for approval tasks (the org chart and limits come with the approvals issue)."""

from django.contrib import admin

from approvals.models import ApprovalTask


@admin.register(ApprovalTask)
class ApprovalTaskAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "instance", "assignee", "candidate_group", "status", "outcome", "created_at")
    list_filter = ("status", "outcome", "candidate_group")
    search_fields = ("name", "assignee__username", "instance__id")
    readonly_fields = ("instance", "step", "decided_by", "decided_at", "outcome", "comment", "lock_version")
