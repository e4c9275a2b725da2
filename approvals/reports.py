"""Approvals' part of a workflow's report: how decisions went at each approval step, and overdue tasks.

Named in ``BATON_REPORT_MODULES``; the operations console calls :func:`report_sections`
(the engine's package never imports approvals).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, Q
from django.utils import timezone

from approvals.actions import APPROVED, CHANGES_REQUESTED, REJECTED
from approvals.models import ApprovalTask, task_holder
from orchestration.ops.reports import Chart, Figure, ReportSection, Series, hours

if TYPE_CHECKING:
    from orchestration.models import Workflow
    from orchestration.ops.reports import Period

# Overdue tasks listed by name; the count covers them all.
OVERDUE_LISTED = 50


def report_sections(workflow: Workflow, period: Period) -> list[ReportSection]:
    """Decisions taken in ``period`` per approval step, and the tasks overdue now."""
    return [_decisions(workflow, period), _overdue(workflow)]


def _rate(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %" if whole else "—"


def _decisions(workflow: Workflow, period: Period) -> ReportSection:
    decided = ApprovalTask.objects.filter(
        instance__workflow=workflow,
        kind=ApprovalTask.Kind.DECISION,
        status=ApprovalTask.Status.COMPLETED,
        decided_at__gte=period.since,
        decided_at__lte=period.until,
    )
    rows = list(
        decided.values("name")
        .annotate(
            total=Count("id"),
            approved=Count("id", filter=Q(outcome=APPROVED)),
            rejected=Count("id", filter=Q(outcome=REJECTED)),
            changes=Count("id", filter=Q(outcome=CHANGES_REQUESTED)),
        )
        .order_by("name")
    )
    total = sum(row["total"] for row in rows)
    approved = sum(row["approved"] for row in rows)
    rejected = sum(row["rejected"] for row in rows)
    return ReportSection(
        key="approvals",
        title="Approval decisions",
        description="How approvers decided at each approval step in this period.",
        figures=[
            Figure("Decisions", str(total)),
            Figure("Approved", _rate(approved, total), f"{approved} of {total}"),
            Figure("Rejected", _rate(rejected, total), f"{rejected} of {total}"),
        ],
        chart=Chart(
            "stacked-bar",
            [row["name"] for row in rows],
            [
                Series("Approved", [float(row["approved"]) for row in rows], "success"),
                Series("Changes requested", [float(row["changes"]) for row in rows], "warning"),
                Series("Rejected", [float(row["rejected"]) for row in rows], "danger"),
            ],
        )
        if rows
        else None,
        headers=[
            "approval_step",
            "decisions",
            "approved",
            "changes_requested",
            "rejected",
            "approval_rate_percent",
        ],
        rows=[
            [
                row["name"],
                row["total"],
                row["approved"],
                row["changes"],
                row["rejected"],
                round(100 * row["approved"] / row["total"]) if row["total"] else 0,
            ]
            for row in rows
        ],
        empty="No approval decisions in this period.",
    )


def _overdue(workflow: Workflow) -> ReportSection:
    now = timezone.now()
    overdue = ApprovalTask.objects.filter(
        instance__workflow=workflow, status=ApprovalTask.Status.OPEN, due_at__lt=now
    ).select_related("assignee", "candidate_group")
    count = overdue.count()
    listed = list(overdue.order_by("due_at", "id")[:OVERDUE_LISTED])
    oldest = (now - listed[0].due_at).total_seconds() if listed and listed[0].due_at else None
    return ReportSection(
        key="overdue",
        title="Overdue approvals",
        description="Open approval tasks past their due date, now.",
        figures=[
            Figure("Overdue now", str(count)),
            Figure("Most overdue by", hours(oldest) if count else "—"),
        ],
        headers=["task", "request", "with", "due", "overdue_hours"],
        rows=[
            [
                task.name,
                task.subject or str(task.instance_id)[:8],
                task_holder(task),
                task.due_at.strftime("%Y-%m-%d %H:%M") if task.due_at else "",
                round((now - task.due_at).total_seconds() / 3600, 1) if task.due_at else "",
            ]
            for task in listed
        ],
        empty="No approval is overdue.",
    )
