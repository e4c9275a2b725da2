"""Approvals' part of a workflow's report: decision rates per approval step and overdue tasks, on known data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from approvals.actions import complete_task
from approvals.models import ApprovalTask
from approvals.reports import report_sections
from orchestration.engine import start_instance
from orchestration.models import Step
from orchestration.ops.reports import Period, report
from tests.approvals.conftest import approval_flow
from tests.approvals.test_decision_advice import triage_task
from tests.orchestration.factories import publish
from tests.plain_words import assert_plain, page_text

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


def test_how_often_approvers_agreed_with_the_ai_and_the_latest_disagreements(org: dict[str, Any]) -> None:
    agreed = [triage_task(org, {"recommendation": "approve"}) for _ in range(2)]
    against = triage_task(org, {"recommendation": "reject", "reason": "Unusually high for Other."})
    unclear = triage_task(org, {"recommendation": "approve"})
    Step.objects.filter(instance=unclear.instance, node_id="Task_read_invoice").update(
        output={"answer": {"recommendation": "not sure"}}
    )
    for task in agreed:
        complete_task(task.id, org["fiona"], "approved")
    complete_task(against.id, org["fiona"], "approved", comment="We know this supplier")
    complete_task(unclear.id, org["fiona"], "approved")
    workflow = against.instance.workflow

    sections = {s.key: s for s in report(workflow, Period.last(7))}

    advice = sections["ai_advice"]
    assert list(sections) == ["days", "blocks", "approvals", "ai_advice", "overdue"]
    assert {f.label: (f.value, f.hint) for f in advice.figures} == {
        "Decisions with AI advice": ("4", ""),
        "Agreed with the AI": ("67 %", "2 of 3"),
        "Decided otherwise": ("1", ""),
    }
    assert advice.rows == [["Approve the invoice", 4, 2, 3, 67, 1]]
    assert [s.values for s in advice.chart.series] == [[2.0], [1.0], [1.0]]
    [listed] = advice.listed
    instance = against.instance
    assert listed.label == f"{instance.reference} · Invoice triage"
    assert listed.url == f"/operations/requests/{instance.id}/"
    assert listed.text == (
        "Approve the invoice. The AI said “reject”: Unusually high for Other. "
        "fiona decided “approved”: We know this supplier."
    )

    admin = get_user_model().objects.create_superuser("boss")
    client = Client()
    client.force_login(admin)
    page = client.get(f"/operations/reports/?workflow={workflow.key}&days=7").content.decode()
    assert "AI advice" in page and f'href="/operations/requests/{instance.id}/"' in page
    assert_plain("the reports page", page_text(page))
    csv = client.get(f"/operations/reports/export.csv?workflow={workflow.key}&days=7&table=ai_advice")
    assert csv.content.decode().splitlines()[1] == "Approve the invoice,4,2,3,67,1"


def test_a_workflow_that_asks_no_ai_has_no_ai_advice_section_and_one_that_does_has_it_empty(
    org: dict[str, Any],
) -> None:
    [task] = _requests(org, 1)
    assert "ai_advice" not in [s.key for s in report(task.instance.workflow, Period.last(7))]

    waiting = triage_task(org, {"recommendation": "approve"})
    [advice] = [s for s in report(waiting.instance.workflow, Period.last(7)) if s.key == "ai_advice"]
    assert advice.rows == [] and advice.chart is None and advice.listed == []
    assert {f.label: f.value for f in advice.figures}["Agreed with the AI"] == "—"
