"""Group approvals where everyone must approve (quorum "all"), and what a resubmission resets."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from approvals.actions import complete_task, resubmit_request
from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.engine.start_data import StartDataError
from orchestration.models import ProcessInstance
from tests import bpmn
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(org: dict[str, Any]) -> list[Any]:
    """Three members of the Board group, plus the employee (who requests and must not approve)."""
    group = Group.objects.create(name="Board")
    members = [get_user_model().objects.create_user(name) for name in ("ann", "ben", "cat")]
    group.user_set.add(*members, org["employee"])
    return members


def _everyone_flow() -> str:
    approval = (
        '<bpmn:userTask id="approve" name="Board approval" baton:assigneeRule="group" '
        'baton:candidateGroups="Board" baton:quorum="all" baton:dueIn="P2D" baton:resultVariable="approval"/>'
    )
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("item", required=True), bpmn.field("amount", "number")),
        approval,
        bpmn.end("end"),
        *bpmn.chain("start", "approve", "end"),
    )


def _start(org: dict[str, Any]) -> ProcessInstance:
    version = publish(_everyone_flow(), key="board")
    return start_instance(version, {"item": "Merger", "amount": 1}, initiator=org["employee"])


def _open(instance: ProcessInstance) -> list[ApprovalTask]:
    return list(
        ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN).order_by("id")
    )


def test_every_member_but_the_requester_gets_a_task_with_one_due_date(org, board):
    instance = _start(org)

    tasks = _open(instance)

    assert [t.assignee.username for t in tasks] == ["ann", "ben", "cat"]
    assert {t.reason for t in tasks} == {"Everyone in group Board must approve (3 people)"}
    assert len({t.due_at for t in tasks}) == 1 and tasks[0].due_at is not None
    assert instance.timers.filter(kind="due").count() == 1


def test_the_step_resumes_only_when_everyone_approved(org, board):
    instance = _start(org)
    tasks = _open(instance)

    for task in tasks[:2]:
        complete_task(task.id, task.assignee, "approved")
        instance.refresh_from_db()
        assert instance.status == ProcessInstance.Status.RUNNING
    complete_task(tasks[2].id, tasks[2].assignee, "approved", comment="Last one")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["approval"]["by"] == "cat"


def test_one_rejection_decides_for_the_group_and_closes_the_other_tasks(org, board):
    instance = _start(org)
    first, second, third = _open(instance)
    complete_task(first.id, first.assignee, "approved")

    complete_task(second.id, second.assignee, "rejected", comment="No")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["approval"]["outcome"] == "rejected"
    third.refresh_from_db()
    assert third.status == ApprovalTask.Status.CANCELLED


def test_after_a_resubmission_earlier_chain_approvals_no_longer_count(org):
    version = publish(approval_flow(), key="buy")
    instance = start_instance(version, {"item": "Laptop", "amount": 5000}, initiator=org["employee"])
    manager_task = _open(instance)[0]
    complete_task(manager_task.id, org["manager"], "approved")
    director_task = _open(instance)[0]
    complete_task(director_task.id, org["director"], "changes_requested", comment="Cheaper please")

    resubmit_request(_open(instance)[0].id, org["employee"], {"amount": 4000})
    again = _open(instance)[0]
    assert again.assignee == org["manager"]
    complete_task(again.id, org["manager"], "approved")

    after = _open(instance)[0]
    assert (after.assignee, after.chain_level) == (org["director"], 2)
    assert "already approved" not in after.reason


def test_a_claimed_fallback_task_approved_resumes_instead_of_looping(org):
    version = publish(approval_flow(), key="buy")
    instance = start_instance(version, {"item": "Yacht", "amount": 5_000_000}, initiator=org["employee"])
    for _ in range(3):  # manager, director, cfo: nobody covers it
        task = _open(instance)[0]
        complete_task(task.id, task.assignee, "approved")
    queue_task = _open(instance)[0]
    assert queue_task.candidate_group.name == "Finance"
    queue_task.assignee = org["fiona"]
    queue_task.save()

    complete_task(queue_task.id, org["fiona"], "approved")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert not _open(instance)


def test_someone_who_approved_at_a_level_cannot_approve_again_in_the_fallback_queue(org):
    from django.core.exceptions import PermissionDenied

    org["cfo"].groups.add(org["fiona"].groups.get())  # the CFO is also in Finance
    version = publish(approval_flow(), key="buy")
    instance = start_instance(version, {"item": "Yacht", "amount": 5_000_000}, initiator=org["employee"])
    for _ in range(3):
        task = _open(instance)[0]
        complete_task(task.id, task.assignee, "approved")
    queue_task = _open(instance)[0]

    with pytest.raises(PermissionDenied, match="You already approved this request at level 3"):
        complete_task(queue_task.id, org["cfo"], "approved")

    complete_task(queue_task.id, org["fiona"], "approved")
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED


def test_a_huge_amount_is_refused_at_the_start_instead_of_breaking_the_inbox(org):
    version = publish(approval_flow("user", assignee="manager"), key="huge")
    with pytest.raises(StartDataError) as caught:
        start_instance(version, {"item": "Planet", "amount": 5e15}, initiator=org["employee"])

    assert caught.value.errors == {"amount": ["Must be at most USD 1,000,000,000,000.00."]}
