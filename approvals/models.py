"""Human tasks: the approvals side of the engine's wait states."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models


class ApprovalTask(models.Model):
    """A decision someone has to take for a waiting step."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    instance = models.ForeignKey(
        "orchestration.ProcessInstance", on_delete=models.CASCADE, related_name="approval_tasks"
    )
    step = models.ForeignKey("orchestration.Step", on_delete=models.CASCADE, related_name="approval_tasks")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approval_tasks",
    )
    candidate_group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="approval_tasks"
    )
    reason = models.CharField(max_length=500, blank=True, help_text="Why this person or group was chosen.")
    outcome = models.CharField(max_length=32, blank=True)
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    lock_version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["assignee", "status", "-created_at"], name="task_assignee_open"),
            models.Index(fields=["candidate_group", "status", "-created_at"], name="task_group_open"),
        ]

    def __str__(self) -> str:
        return self.name
