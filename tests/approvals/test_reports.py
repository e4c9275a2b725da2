"""Approvals' part of a workflow's report: decision rates per approval step and overdue tasks, on known data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from approvals.actions import complete_task
from approvals.models import ApprovalTask
from approvals.reports import report_sections
from orchestration.engine import start_instance
from orchestration.ops.reports import Period, report
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _requests(org: dict[str, Any], n: int) -> list[ApprovalTask]:
    version = publish(approval_flow("authority_chain"), key="buy", name="Buy something")
    instances = [
        start_instance(version, {"item": f"Desk {i}", "amount": 1000}, initiator=org["employee"])
        for i in range(n)
    ]
    return [ApprovalTask.objects.get(instance=i, status=ApprovalTask.Status.OPEN) for i in instances]


def test_decision_rates_per_approval_step_and_overdue_tasks(org: dict[str, Any]) -> None:
    tasks = _requests(org, 5)
    complete_task(tasks[0].id, org["manager"], "approved")
    complete_task(tasks[1].id, org["manager"], "approved")
    complete_task(tasks[2].id, org["manager"], "rejected", comment="Too dear")
    # Of the two still open, one is a day past its due date.
    ApprovalTask.objects.filter(id=tasks[3].id).update(due_at=timezone.now() - timedelta(days=1))
    ApprovalTask.objects.filter(id=tasks[4].id).update(due_at=timezone.now() + timedelta(days=1))

    decisions, overdue = report_sections(tasks[0].instance.workflow, Period.last(30))

    assert {f.label: (f.value, f.hint) for f in decisions.figures} == {
        "Decisions": ("3", ""),
        "Approved": ("67 %", "2 of 3"),
        "Rejected": ("33 %", "1 of 3"),
    }
    assert decisions.rows == [["Manager approval", 3, 2, 0, 1, 67]]
    assert [s.values for s in decisions.chart.series] == [[2.0], [0.0], [1.0]]
    assert {f.label: f.value for f in overdue.figures}["Overdue now"] == "1"
    [row] = overdue.rows
    assert row[0] == "Manager approval" and row[1] == "Desk 3" and row[2] == "Max Manager"
    assert 23.9 <= row[4] <= 24.1


def test_the_workflow_report_includes_approvals_sections(org: dict[str, Any]) -> None:
    [task] = _requests(org, 1)

    keys = [s.key for s in report(task.instance.workflow, Period.last(7))]

    assert keys == ["days", "blocks", "approvals", "overdue"]
