"""What a run writes, and how many statements it takes: new steps in one INSERT, no query it can avoid."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from approvals.actions import complete_task
from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.models import Event, Incident, ProcessInstance, Step
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements run inside the block, leaving out transaction and savepoint control."""
    seen: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


def test_an_inline_run_writes_its_instance_steps_and_events_in_three_statements() -> None:
    version = publish(bpmn.ten_inline_blocks(), key="inline")
    start_instance(version, {"amount": 1})  # the compiled graph is cached per process

    with statements() as seen:
        instance = start_instance(version, {"amount": 120})

    assert [sql.split()[2] for sql in seen] == [
        '"orchestration_processinstance"',
        '"orchestration_step"',
        '"orchestration_event"',
    ]
    assert instance.status == ProcessInstance.Status.COMPLETED
    steps = list(instance.steps.order_by("id").values_list("node_id", "status"))
    assert [node for node, _ in steps] == [
        "start",
        "big",
        "s1",
        "s2",
        "split",
        "p1",
        "p2",
        "join",
        "join",
        "end",
    ]
    assert {status for _, status in steps} == {Step.Status.COMPLETED}
    assert instance.steps.filter(node_id="join", join_key__isnull=False).count() == 1
    assert instance.started_at <= instance.ended_at
    assert Event.objects.filter(instance=instance).first().kind == "instance.started"


def _approval_then_order() -> str:
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("item")),
        bpmn.script("prepare", '{"note": "x"}'),
        bpmn.user_task("approve", name="Approve", assignee="writes-approver"),
        bpmn.end(),
        *bpmn.chain("start", "prepare", "approve", "end"),
    )


def test_a_waiting_step_is_written_after_the_steps_before_it_so_ids_follow_the_path() -> None:
    get_user_model().objects.create_user("writes-approver")
    instance = start_instance(publish(_approval_then_order(), key="approve"), {"item": "Desk"})

    steps = list(instance.steps.order_by("id").values_list("node_id", "status"))
    assert steps == [
        ("start", Step.Status.COMPLETED),
        ("prepare", Step.Status.COMPLETED),
        ("approve", Step.Status.WAITING),
    ]
    assert ApprovalTask.objects.get(instance=instance).step.node_id == "approve"


def test_deciding_a_task_that_ends_the_process_takes_eight_statements(
    django_capture_on_commit_callbacks: Any,
) -> None:
    approver = get_user_model().objects.create_user("writes-approver")
    version = publish(_approval_then_order(), key="approve")
    warm = start_instance(version, {"item": "Chair"})
    with django_capture_on_commit_callbacks(execute=True):  # caches the compiled graph, as a commit does
        complete_task(ApprovalTask.objects.get(instance=warm).id, approver, "approved", comment="ok")
    instance = start_instance(version, {"item": "Desk"})
    task = ApprovalTask.objects.get(instance=instance)

    with statements() as seen:
        complete_task(task.id, approver, "approved", comment="ok")

    assert len(seen) <= 8, "\n".join(seen)
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["approval"]["outcome"] == "approved"


def _join_after_approval() -> str:
    return bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("split", "parallel"),
        bpmn.user_task("approve", name="Approve", assignee="writes-approver"),
        bpmn.script("quick", '{"quick": true}'),
        bpmn.gateway("join", "parallel"),
        bpmn.end(),
        bpmn.flow("start", "split"),
        bpmn.flow("split", "approve"),
        bpmn.flow("split", "quick"),
        bpmn.flow("approve", "join"),
        bpmn.flow("quick", "join"),
        bpmn.flow("join", "end"),
    )


def test_a_join_fires_once_when_the_last_branch_arrives_in_a_later_run() -> None:
    approver = get_user_model().objects.create_user("writes-approver")
    instance = start_instance(publish(_join_after_approval(), key="join-later"), {})
    waiting = instance.steps.get(node_id="join")
    assert waiting.status == Step.Status.WAITING and instance.status == ProcessInstance.Status.RUNNING

    complete_task(ApprovalTask.objects.get(instance=instance).id, approver, "approved", comment="ok")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    joins = instance.steps.filter(node_id="join")
    assert sorted(joins.values_list("status", flat=True)) == [Step.Status.COMPLETED] * 2
    assert joins.filter(join_key=f"join:{waiting.idempotency_key}").count() == 1
    assert instance.steps.filter(node_id="end").count() == 1


def test_a_block_failing_after_writing_its_step_leaves_that_step_as_an_incident() -> None:
    # The child refuses the data only after the call step wrote its row (inside the block's savepoint).
    publish(
        bpmn.definitions(
            bpmn.start("start", bpmn.field("needed", required=True)),
            bpmn.end(),
            *bpmn.chain("start", "end"),
        ),
        key="child",
    )
    parent = bpmn.definitions(
        bpmn.start(),
        bpmn.script("prepare", '{"note": "x"}'),
        bpmn.call("sub", "child"),
        bpmn.end(),
        *bpmn.chain("start", "prepare", "sub", "end"),
    )

    instance = start_instance(publish(parent, key="parent"), {})

    assert instance.status == ProcessInstance.Status.RUNNING and instance.has_incident
    steps = list(instance.steps.order_by("id").values_list("node_id", "status"))
    assert steps == [
        ("start", Step.Status.COMPLETED),
        ("prepare", Step.Status.COMPLETED),
        ("sub", Step.Status.INCIDENT),
    ]
    incident = Incident.objects.get(instance=instance)
    assert incident.step.node_id == "sub" and "refused the data" in incident.error
    assert not ProcessInstance.objects.filter(parent_step=incident.step).exists()
