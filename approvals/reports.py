"""Approvals' part of a workflow's report: how decisions went at each approval step, how often approvers
agreed with the AI's advice, and overdue tasks.

Named in ``BATON_REPORT_MODULES``; the operations console calls :func:`report_sections`
(the engine's package never imports approvals).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from approvals.actions import APPROVED, CHANGES_REQUESTED, REJECTED
from approvals.models import ApprovalTask, decided_by_words, task_holder
from orchestration.connectors import ai
from orchestration.engine.human import graph_for
from orchestration.ops.reports import Chart, Figure, Listed, ReportSection, Series, hours

if TYPE_CHECKING:
    from orchestration.models import Workflow
    from orchestration.ops.reports import Period

# Overdue tasks listed by name; the count covers them all.
OVERDUE_LISTED = 50
# Decisions that went against the AI's advice, newest first.
DISAGREEMENTS_LISTED = 10


def report_sections(workflow: Workflow, period: Period) -> list[ReportSection]:
    """Decisions taken in ``period`` per approval step, agreement with the AI's advice (workflows that
    ask an AI), and the tasks overdue now."""
    advice = _advice(workflow, period)
    return [_decisions(workflow, period), *([advice] if advice else []), _overdue(workflow)]


def _rate(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %" if whole else "—"


def _decided(workflow: Workflow, period: Period) -> QuerySet[ApprovalTask]:
    """The workflow's decision tasks decided in ``period``."""
    return ApprovalTask.objects.filter(
        instance__workflow=workflow,
        kind=ApprovalTask.Kind.DECISION,
        status=ApprovalTask.Status.COMPLETED,
        decided_at__gte=period.since,
        decided_at__lte=period.until,
    )


def _decisions(workflow: Workflow, period: Period) -> ReportSection:
    decided = _decided(workflow, period)
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


def _decided_words(outcome: str) -> str:
    return outcome.replace("_", " ")


def _advice(workflow: Workflow, period: Period) -> ReportSection | None:
    """How often approvers decided as the AI advised, per approval step; None for a workflow that
    has not asked an AI (no advice in the period, none in its published version)."""
    advised = _decided(workflow, period).filter(advice__isnull=False)
    rows = list(
        advised.values("name")
        .annotate(
            total=Count("id"),
            agreed=Count("id", filter=Q(advice_agreed=True)),
            otherwise=Count("id", filter=Q(advice_agreed=False)),
        )
        .order_by("name")
    )
    if not rows and not _asks_ai(workflow):
        return None
    total = sum(row["total"] for row in rows)
    agreed = sum(row["agreed"] for row in rows)
    clear = agreed + sum(row["otherwise"] for row in rows)
    latest = (
        advised.filter(advice_agreed=False)
        .select_related("instance__workflow", "decided_by", "on_behalf_of")
        .order_by("-decided_at", "-id")[:DISAGREEMENTS_LISTED]
    )
    return ReportSection(
        key="ai_advice",
        title="AI advice",
        description=(
            "How often approvers decided as the AI recommended, at each approval step that showed "
            "its advice in this period."
        ),
        figures=[
            Figure("Decisions with AI advice", str(total)),
            Figure("Agreed with the AI", _rate(agreed, clear), f"{agreed} of {clear}"),
            Figure("Decided otherwise", str(clear - agreed)),
        ],
        chart=Chart(
            "stacked-bar",
            [row["name"] for row in rows],
            [
                Series("Agreed", [float(row["agreed"]) for row in rows], "success"),
                Series("Decided otherwise", [float(row["otherwise"]) for row in rows], "danger"),
                Series(
                    "No clear recommendation",
                    [float(row["total"] - row["agreed"] - row["otherwise"]) for row in rows],
                    "secondary",
                ),
            ],
        )
        if rows
        else None,
        headers=[
            "approval_step",
            "decisions_with_advice",
            "agreed",
            "with_a_clear_recommendation",
            "agreed_percent",
            "decided_otherwise",
        ],
        rows=[
            [
                row["name"],
                row["total"],
                row["agreed"],
                row["agreed"] + row["otherwise"],
                round(100 * row["agreed"] / (row["agreed"] + row["otherwise"]))
                if row["agreed"] + row["otherwise"]
                else "",
                row["otherwise"],
            ]
            for row in rows
        ],
        empty="No approver decided with the AI's advice in this period.",
        listed_title="Latest decisions against the AI's advice",
        listed=[_disagreement(task) for task in latest],
    )


def _disagreement(task: ApprovalTask) -> Listed:
    advice = task.advice or {}
    said = _sentence(f"The AI said “{advice.get('recommendation', '')}”", str(advice.get("reason") or ""))
    decided = _sentence(f"{decided_by_words(task)} decided “{_decided_words(task.outcome)}”", task.comment)
    instance = task.instance
    return Listed(
        f"{instance.reference} · {instance.title}",
        reverse("ops:instance", args=[instance.id]),
        f"{task.name}. {said} {decided}",
    )


def _sentence(what: str, why: str) -> str:
    """ "The AI said “reject”: Too dear." — the why, when there is one, after a colon."""
    why = " ".join(why.split()).rstrip(".")
    return f"{what}: {why}." if why else f"{what}."


def _asks_ai(workflow: Workflow) -> bool:
    version = workflow.published_version
    return version is not None and bool(ai.asking_nodes(graph_for(version.id, version.checksum)))


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
