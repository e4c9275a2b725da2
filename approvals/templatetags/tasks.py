"""Template filters for approval tasks: who holds one, worded as the rest of approvals words it."""

from __future__ import annotations

from django import template

from approvals.models import ApprovalTask, task_holder

register = template.Library()


@register.filter
def holder(task: ApprovalTask) -> str:
    """Who holds ``task``: ``{{ task|holder }}`` reads "Max Manager" or "the Finance queue"."""
    return task_holder(task)
