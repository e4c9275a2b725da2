"""The demo's contract review, path by path, with connector steps reported by hand (no worker).

The same flow runs end to end with the real worker and demo e-signature service in
``tests/browser/test_contract_review.py``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from approvals.actions import TaskAlreadyDecided, complete_task
from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.engine.timers import fire_due_timers
from orchestration.engine.worker import claim_step, complete_step, fail_step
from orchestration.models import ProcessInstance, Step, Workflow

pytestmark = pytest.mark.django_db

User = get_user_model()
CONTRACT = {
    "title": "Cleaning services 2027",
    "counterparty": "Sparkle GmbH",
    "amount": "48000.00",
    "currency": "EUR",
    "cc_marketing": True,
    "cc_finance": True,
}


@pytest.fixture
def contract() -> ProcessInstance:
    call_command("baton_demo", stdout=StringIO())
    version = Workflow.objects.get(key="contract-review").published_version
    assert version is not None
    return start_instance(version, CONTRACT, initiator=User.objects.get(username="employee"))


def _open(instance: ProcessInstance) -> list[ApprovalTask]:
    return list(
        ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN)
        .select_related("candidate_group", "assignee")
        .order_by("id")
    )


def _decide(task: ApprovalTask, username: str, outcome: str = "approved", comment: str = "") -> None:
    complete_task(task.id, User.objects.get(username=username), outcome, comment=comment)


def _report(instance: ProcessInstance, node_id: str, output: dict[str, Any] | None = None) -> None:
    step = Step.objects.get(instance=instance, node_id=node_id, status=Step.Status.QUEUED)
    claim_step(step.id, 1)
    complete_step(step.id, 1, output or {})


def _to_legal(instance: ProcessInstance) -> ApprovalTask:
    centres = _open(instance)
    assert [(t.name, t.candidate_group.name) for t in centres] == [
        ("Cost centre approval: MKT-110", "Cost centre MKT-110"),
        ("Cost centre approval: FIN-100", "Cost centre FIN-100"),
    ]
    _decide(centres[1], "cfo")
    _decide(centres[0], "manager")
    (legal,) = _open(instance)
    assert legal.name == "Legal approval" and legal.candidate_group.name == "Legal"
    return legal


def test_a_declined_signature_is_signed_on_paper_by_the_requesters_manager(contract: ProcessInstance) -> None:
    _decide(_to_legal(contract), "legal")
    esign = Step.objects.get(instance=contract, node_id="Task_esignature")
    assert esign.input == {
        "document": "Cleaning services 2027",
        "counterparty": "Sparkle GmbH",
        "value": 48000.0,
        "currency": "EUR",
        "signer": "employee",
    }

    claim_step(esign.id, 1)
    fail_step(esign.id, 1, "Signature declined: Sparkle GmbH declined", retryable=False, code="DECLINED")

    (paper,) = _open(contract)
    assert paper.name == "Sign on paper" and paper.assignee.username == "manager"
    _decide(paper, "manager")
    contract.refresh_from_db()
    assert contract.status == ProcessInstance.Status.COMPLETED and contract.outcome == "signed_on_paper"
    assert contract.variables["signature_failure"]["code"] == "DECLINED"
    assert contract.variables["centre_outcomes"] == ["approved", "approved"]


def test_a_signed_contract_ends_signed(contract: ProcessInstance) -> None:
    _decide(_to_legal(contract), "legal")

    _report(contract, "Task_esignature", {"envelope_id": "ENV-1", "status": "signed"})

    contract.refresh_from_db()
    assert contract.outcome == "signed" and contract.variables["envelope_id"] == "ENV-1"


def test_the_first_cost_centre_rejection_stops_the_others(contract: ProcessInstance) -> None:
    marketing, finance = _open(contract)

    _decide(finance, "cfo", "rejected", "Not in this year's budget")

    contract.refresh_from_db()
    assert contract.outcome == "rejected"
    marketing.refresh_from_db()
    assert marketing.status == ApprovalTask.Status.CANCELLED


def test_legal_is_reminded_after_two_days_and_the_request_ends_after_three(contract: ProcessInstance) -> None:
    legal = _to_legal(contract)
    now = timezone.now()

    assert fire_due_timers(now + timedelta(days=2, minutes=1)) == 1
    remind = Step.objects.get(instance=contract, node_id="Task_remind_legal")
    assert remind.input["to"] == "legal" and "Cleaning services 2027" in remind.input["subject"]
    _report(contract, "Task_remind_legal")
    assert _open(contract) == [legal]  # the reminder leaves the review waiting

    assert fire_due_timers(now + timedelta(days=3, minutes=1)) == 1
    assert _open(contract) == []
    _report(contract, "Task_notify_not_reviewed")
    contract.refresh_from_db()
    assert contract.outcome == "not_reviewed_in_time"
    late = 'This task is closed, so it can no longer be decided: Deadline reached: Legal review stopped, taking the path "3 days passed".'
    with pytest.raises(TaskAlreadyDecided, match=re.escape(late)):
        _decide(legal, "legal")
