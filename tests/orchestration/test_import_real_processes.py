"""Files as Camunda Modeler and bpmn.io write them, using deadlines, failure paths, messages, groups and For each.

Each compiles, or is refused with a named, plain error where Baton needs a setting of its own
(a connector, a correlation key, the list a For each goes through); with that setting added,
it compiles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from approvals.actions import complete_task
from approvals.models import ApprovalTask
from orchestration.bpmn.compiler import CompileResult, compile_bpmn
from orchestration.engine import start_instance
from orchestration.models import ProcessInstance
from tests.bpmn import BATON
from tests.orchestration.factories import publish

FILES = Path(__file__).parent / "bpmn_files"


def _compiled(name: str, *changes: tuple[str, str]) -> CompileResult:
    """Compile file ``name`` after ``changes`` (old text → new text); Baton's namespace is declared for them."""
    xml = (FILES / name).read_text()
    if changes:
        xml = xml.replace("<bpmn:definitions ", f'<bpmn:definitions xmlns:baton="{BATON}" ', 1)
    for old, new in changes:
        assert old in xml, old
        xml = xml.replace(old, new)
    return compile_bpmn(xml)


def _errors(result: CompileResult) -> list[str]:
    return [str(e) for e in result.errors]


def _config(result: CompileResult, node_id: str) -> dict[str, Any]:
    assert result.graph is not None, _errors(result)
    return dict(result.graph["nodes"][node_id]["config"])


def test_camunda_deadline_and_repeating_reminder_on_an_approval_compile() -> None:
    result = _compiled("camunda_approval_timers.bpmn")

    assert result.ok, _errors(result)
    (warning,) = [str(w) for w in result.warnings]
    assert warning.startswith(
        "Settings for other engines are ignored: camunda:assignee (on Activity_approve)"
    )
    deadline, reminder = _config(result, "Event_deadline"), _config(result, "Event_remind")
    assert (deadline["role"], deadline["interrupting"], deadline["timer"]) == (
        "timer",
        True,
        {"kind": "duration", "text": "PT48H"},
    )
    assert (reminder["role"], reminder["interrupting"], reminder["timer"]) == (
        "reminder",
        False,
        {"kind": "cycle", "text": "R3/PT24H"},
    )
    assert deadline["attached_to"] == reminder["attached_to"] == "Activity_approve"
    assert _config(result, "Activity_approve")["groups"] == ["Purchasing"]  # the lane decides


def test_camunda_error_paths_need_a_baton_connector_on_the_failing_step() -> None:
    refused = _compiled("camunda_error_paths.bpmn")

    assert _errors(refused) == [
        'Automated step "Send for e-signature" (Activity_sign): does nothing yet: choose what this step should do.'
    ]
    assert "camunda:errorMessageVariable (on ErrorEventDefinition_0decl)" in str(refused.warnings[0])

    fixed = _compiled(
        "camunda_error_paths.bpmn",
        ('camunda:type="external"', 'baton:connector="esign.send_for_signature"'),
        # The connector's required inputs, which the file (made for another engine) cannot name.
        (
            "<bpmn:incoming>Flow_start</bpmn:incoming>",
            '<bpmn:extensionElements><baton:input name="document" expression="\'NDA\'" />'
            '<baton:input name="counterparty" expression="\'ACME\'" />'
            '<baton:input name="signer" expression="initiator" /></bpmn:extensionElements>'
            "<bpmn:incoming>Flow_start</bpmn:incoming>",
        ),
    )
    assert fixed.ok, _errors(fixed)
    declined, any_failure = _config(fixed, "Event_declined"), _config(fixed, "Event_failed")
    assert (declined["trigger"], declined["role"], declined["error_code"]) == ("error", "error", "DECLINED")
    assert (any_failure["trigger"], any_failure["error_code"]) == ("error", "")


def test_camunda_message_events_on_an_approval_need_a_correlation_key() -> None:
    refused = _compiled("camunda_message_boundaries.bpmn")

    assert _errors(refused) == [
        f'Event on a step "{name}" ({id}): needs a correlation key: an expression that picks the request '
        "a message is for."
        for name, id in (("Order cancelled", "Event_cancelled"), ("Order changed", "Event_changed"))
    ]

    fixed = _compiled(
        "camunda_message_boundaries.bpmn",
        (
            'attachedToRef="Activity_confirm">',
            'attachedToRef="Activity_confirm" baton:correlationKey="business_key">',
        ),
    )
    assert fixed.ok, _errors(fixed)
    cancelled, changed = _config(fixed, "Event_cancelled"), _config(fixed, "Event_changed")
    assert (cancelled["trigger"], cancelled["message"], cancelled["interrupting"]) == (
        "message",
        "order-cancelled",
        True,
    )
    assert (changed["message"], changed["interrupting"]) == ("order-changed", False)


def test_camunda_for_each_says_which_baton_settings_it_needs() -> None:
    refused = _compiled("camunda_multi_instance.bpmn")

    assert _errors(refused) == [
        'Approval "Review the draft" (Activity_review): runs For each item, but of which list? Choose the list '
        'it goes through (camunda:collection "${reviewers}" is another engine\'s setting, which Baton does not '
        "read: set baton:collection to a list in CEL, such as reviewers).",
        'Approval "Sign off" (Activity_sign_off): runs For each item, but of which list? Choose the list it '
        'goes through (camunda:collection "${signatories}" is another engine\'s setting, which Baton does not '
        "read: set baton:collection to a list in CEL, such as signatories).",
        'Approval "Sign off" (Activity_sign_off): has a condition to stop early written for another engine '
        '("${nrOfCompletedInstances == 2}"): write it in CEL over progress (completed, total, outputs), such '
        "as progress.completed >= 2.",
    ]

    fixed = _compiled(
        "camunda_multi_instance.bpmn",
        (
            'camunda:collection="${reviewers}"',
            """baton:collection='["ann", "bob"]' baton:elementVariable="reviewer\"""",
        ),
        ('camunda:collection="${signatories}"', """baton:collection='["cfo", "ceo", "chair"]'"""),
        ("${nrOfCompletedInstances == 2}", "progress.completed &gt;= 2"),
    )
    assert fixed.ok, _errors(fixed)
    assert fixed.graph is not None
    review, sign_off = fixed.graph["nodes"]["Activity_review"], fixed.graph["nodes"]["Activity_sign_off"]
    assert (review["loop"]["parallel"], review["loop"]["item"]) == (True, "reviewer")
    assert (sign_off["loop"]["parallel"], sign_off["loop"]["completion"]) == (
        False,
        "progress.completed >= 2",
    )


@pytest.mark.django_db
def test_bpmnio_group_with_an_end_with_error_runs_its_failure_path() -> None:
    result = _compiled("bpmnio_legal_group.bpmn")
    assert result.ok and not result.warnings, _errors(result)
    assert result.graph is not None
    nodes = result.graph["nodes"]
    assert nodes["Activity_legal_review"]["kind"] == "group"
    assert {n for n, node in nodes.items() if node.get("parent") == "Activity_legal_review"} == {
        "StartEvent_review",
        "Activity_review",
        "Gateway_acceptable",
        "EndEvent_reviewed",
        "EndEvent_not_acceptable",
    }
    assert nodes["EndEvent_not_acceptable"]["config"]["error_code"] == "NOT_ACCEPTABLE"
    users = get_user_model().objects
    lawyer, boss, requester = (users.create_user(n) for n in ("lawyer", "boss", "requester"))
    Group.objects.create(name="Legal").user_set.add(lawyer)
    Group.objects.create(name="Management").user_set.add(boss)

    instance = start_instance(
        publish((FILES / "bpmnio_legal_group.bpmn").read_text(), key="legal"), {}, initiator=requester
    )
    review = ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)
    assert review.candidate_group is not None and review.candidate_group.name == "Legal"
    complete_task(review.id, lawyer, "rejected", comment="Unlimited liability")

    renegotiate = ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)
    assert renegotiate.name == "Renegotiate" and renegotiate.candidate_group.name == "Management"
    complete_task(renegotiate.id, boss, "approved")
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert list(instance.steps.filter(node_id="Activity_legal_review").values_list("status", flat=True)) == [
        "cancelled"
    ]
