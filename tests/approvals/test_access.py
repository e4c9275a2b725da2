"""Who may decide a task: one answer, with the reason, for pages, the API and the action."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from approvals.access import can_decide
from approvals.actions import TaskAlreadyDecided, complete_task
from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _open(instance: Any) -> ApprovalTask:
    return ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)


def test_the_assigned_approver_may_decide_and_others_are_told_why_not(org: dict[str, Any]) -> None:
    version = publish(approval_flow(), key="buy")
    task = _open(start_instance(version, {"item": "Desk", "amount": 500}, initiator=org["employee"]))

    assert can_decide(task.assignee, task) is None
    refusal = can_decide(org["director"], task)
    assert refusal is not None and refusal.rule == "not_candidate"
    assert str(refusal) == "You are not an approver of this task."
    with pytest.raises(PermissionDenied, match=r"You are not an approver of this task\."):
        complete_task(task.id, org["director"], "approved")


def test_a_decided_task_refuses_with_who_decided_it(org: dict[str, Any]) -> None:
    version = publish(approval_flow(), key="buy")
    task = _open(start_instance(version, {"item": "Desk", "amount": 500}, initiator=org["employee"]))
    complete_task(task.id, task.assignee, "approved")
    task.refresh_from_db()

    refusal = can_decide(task.assignee, task)

    assert refusal is not None and refusal.rule == "closed"
    assert refusal.reason == "Already approved by Max Manager."
    with pytest.raises(TaskAlreadyDecided, match=r"Already approved by Max Manager\."):
        complete_task(task.id, task.assignee, "approved")


def test_an_earlier_approver_may_not_approve_again_but_the_rule_is_about_approving(
    org: dict[str, Any],
) -> None:
    org["cfo"].groups.add(org["fiona"].groups.get())  # the CFO is also in Finance
    version = publish(approval_flow(), key="buy")
    instance = start_instance(version, {"item": "Yacht", "amount": 5_000_000}, initiator=org["employee"])
    for _ in range(3):
        level = _open(instance)
        complete_task(level.id, level.assignee, "approved")
    queue_task = _open(instance)

    refusal = can_decide(org["cfo"], queue_task)

    assert refusal is not None and refusal.rule == "four_eyes"
    assert refusal.reason == "You already approved this request at level 3; someone else must decide now."
    assert can_decide(org["cfo"], queue_task, "rejected") is None
    assert can_decide(org["fiona"], queue_task) is None
