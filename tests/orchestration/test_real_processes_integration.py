"""Deadlines, reminders, failure paths and For each approvals with the real worker, ticker and HTTP."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.actions import TaskAlreadyDecided, complete_task
from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.models import Event, Incident, ProcessInstance, Step, Timer
from tests import bpmn
from tests.conftest import Engine, wait_for
from tests.orchestration.conftest import Answer, ScriptedServer
from tests.orchestration.factories import publish

pytestmark = [pytest.mark.integration]

User = get_user_model()


@pytest.fixture
def people(live_engine: Engine) -> dict[str, Any]:
    return {
        name: User.objects.create_user(name, first_name=name.title()) for name in ("ann", "bob", "cho", "req")
    }


def _finished(instance: ProcessInstance) -> ProcessInstance | None:
    instance.refresh_from_db()
    return instance if instance.status != ProcessInstance.Status.RUNNING else None


def _wait_done(instance: ProcessInstance, timeout: float = 60) -> ProcessInstance:
    return wait_for(lambda: _finished(instance), timeout, what=f"instance {instance.id} to finish")


def _open_task(instance: ProcessInstance) -> ApprovalTask | None:
    return ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN).first()


def test_a_deadline_on_an_approval_closes_the_task_takes_its_path_and_refuses_a_late_decision(
    people: dict[str, Any],
) -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.user_task("approve", assignee="ann", name="Approve the offer"),
        bpmn.boundary_timer("late", "approve", duration="PT2S", name="2 seconds passed"),
        bpmn.script("escalate", '{"escalated": true}', name="Note the escalation"),
        bpmn.end("end_late", outcome="not_decided_in_time"),
        bpmn.end(outcome="approved"),
        *bpmn.chain("start", "approve", "end"),
        *bpmn.chain("late", "escalate", "end_late"),
    )
    instance = start_instance(publish(xml, key="deadline"), {}, initiator=people["req"])
    task = _open_task(instance)
    assert task is not None and task.assignee == people["ann"]

    instance = _wait_done(instance, timeout=30)  # the ticker fires the deadline

    assert instance.outcome == "not_decided_in_time" and instance.variables == {"escalated": True}
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.CANCELLED
    assert not ApprovalTask.objects.filter(assignee=people["ann"], status=ApprovalTask.Status.OPEN).exists()
    assert Event.objects.filter(instance=instance, kind="boundary.interrupted").count() == 1
    late = (
        "This task is closed, so it can no longer be decided: Deadline reached: Approve the offer stopped, "
        'taking the path "2 seconds passed".'
    )
    with pytest.raises(TaskAlreadyDecided, match=re.escape(late)):
        complete_task(task.id, people["ann"], "approved")
    instance.refresh_from_db()
    assert instance.outcome == "not_decided_in_time"


def test_a_repeating_reminder_fires_its_path_each_time_while_the_approval_keeps_waiting(
    people: dict[str, Any], http_server: ScriptedServer
) -> None:
    http_server.answer(Answer(body={"sent": True}))
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.user_task("approve", assignee="ann", name="Approve the offer"),
        bpmn.boundary_timer("remind", "approve", cycle="R2/PT1M", interrupting=False, name="Every minute"),
        bpmn.service(
            "nudge",
            properties={"url": http_server.url + "/remind", "method": "POST"},
            inputs={"who": '"ann"'},
            name="Remind the approver",
        ),
        bpmn.end("reminded"),
        bpmn.end(outcome="approved"),
        *bpmn.chain("start", "approve", "end"),
        *bpmn.chain("remind", "nudge", "reminded"),
    )
    instance = start_instance(publish(xml, key="reminders"), {}, initiator=people["req"])
    pending = Timer.objects.filter(
        instance=instance, kind=Timer.Kind.BOUNDARY, fired_at__isnull=True, cancelled_at__isnull=True
    )

    for sent in (1, 2):  # each minute comes now: the real ticker fires it, the worker sends the reminder
        assert pending.update(due_at=timezone.now()) == 1
        wait_for(
            lambda sent=sent: Step.objects.filter(instance=instance, node_id="reminded").count() == sent,
            timeout=30,
            what=f"reminder {sent} sent by the worker",
        )
    assert not pending.exists()  # R2: no third time armed

    assert [json.loads(r.body) for r in http_server.received] == [{"who": "ann"}, {"who": "ann"}]
    task = _open_task(instance)
    assert task is not None and task.assignee == people["ann"]
    complete_task(task.id, people["ann"], "approved")
    instance = _wait_done(instance)
    assert instance.outcome == "approved"
    assert Step.objects.filter(instance=instance, node_id="remind").count() == 2  # R2: twice, never more


def test_a_business_error_from_the_e_signature_service_takes_the_failure_path(
    live_engine: Engine, live_server: Any
) -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("counterparty", required=True)),
        bpmn.service(
            "sign",
            "esign.send_for_signature",
            name="Send for e-signature",
            properties={"url": live_server.url + "/demo/signature/envelopes/"},
            inputs={
                "document": '"Framework agreement"',
                "counterparty": "counterparty",
                "value": "12000.0",
                "currency": '"USD"',
                "signer": '"req"',
            },
            outputs={"envelope": "result.envelope_id"},
        ),
        bpmn.boundary_error(
            "declined", "sign", code="DECLINED", variable="failure", name="Signature declined"
        ),
        bpmn.script("paper", '{"on_paper": true}', name="Sign on paper"),
        bpmn.end("end_paper", outcome="signed_on_paper"),
        bpmn.end(outcome="signed"),
        *bpmn.chain("start", "sign", "end"),
        *bpmn.chain("declined", "paper", "end_paper"),
        errors=("DECLINED",),
    )
    version = publish(xml, key="esign")

    declined = _wait_done(start_instance(version, {"counterparty": "Decline Ltd"}))
    signed = _wait_done(start_instance(version, {"counterparty": "Sparkle GmbH"}))

    assert declined.outcome == "signed_on_paper"
    assert declined.variables["failure"] == {
        "code": "DECLINED",
        "message": "Signature declined: Decline Ltd declined to sign electronically.",
    }
    step = declined.steps.get(node_id="sign")
    assert step.attempt == 1  # a business refusal is never retried
    assert not Incident.objects.filter(instance=declined).exists()
    assert signed.outcome == "signed" and signed.variables["envelope"].startswith("ENV-")


def test_a_sequential_for_each_approval_asks_three_people_in_turn_and_keeps_their_answers_in_order(
    people: dict[str, Any], http_server: ScriptedServer
) -> None:
    http_server.answer(Answer(body={"filed": True}))
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.script("panel", '{"reviewers": ["ann", "bob", "cho"]}', name="The review panel"),
        bpmn.for_each(
            '<bpmn:userTask id="review" name="Review" baton:assigneeRule="from_data" '
            'baton:assigneeExpression="reviewer" baton:resultVariable="review"/>',
            "reviewers",
            item="reviewer",
            sequential=True,
            output="answers",
            output_item="result.review.by + ': ' + result.review.outcome",
        ),
        bpmn.service(
            "file",
            properties={"url": http_server.url + "/file", "method": "POST"},
            inputs={"answers": "answers"},
            name="File the answers",
        ),
        bpmn.end(outcome="reviewed"),
        *bpmn.chain("start", "panel", "review", "file", "end"),
    )
    instance = start_instance(publish(xml, key="panel"), {}, initiator=people["req"])

    asked = []
    for name, outcome, comment in (
        ("ann", "approved", ""),
        ("bob", "rejected", "Too dear"),
        ("cho", "approved", ""),
    ):
        task = _open_task(instance)
        assert task is not None and ApprovalTask.objects.filter(instance=instance, status="open").count() == 1
        asked.append(task.assignee.username)
        complete_task(task.id, people[name], outcome, comment=comment)
    instance = _wait_done(instance)

    assert asked == ["ann", "bob", "cho"]
    assert instance.outcome == "reviewed"
    assert instance.variables["answers"] == ["ann: approved", "bob: rejected", "cho: approved"]
    assert [json.loads(r.body) for r in http_server.received] == [
        {"answers": ["ann: approved", "bob: rejected", "cho: approved"]}
    ]
