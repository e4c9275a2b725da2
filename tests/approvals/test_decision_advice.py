"""A decision keeps the AI advice its approver was shown, and whether it went the AI's way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.actions import advised_outcome, complete_task
from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.engine.worker import claim_step, complete_step
from orchestration.models import ProcessInstance, Step, Workflow
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

TRIAGE = (Path(__file__).resolve().parents[2] / "orchestration/fixtures/invoice_triage.bpmn").read_text()


def triage_task(org: dict[str, Any], answer: dict[str, Any], *, key: str = "invoice-triage") -> ApprovalTask:
    """An invoice triage request whose AI step answered ``answer`` (as a worker reports it): its open approval."""
    workflow = Workflow.objects.filter(key=key).first()
    version = workflow.published_version if workflow else publish(TRIAGE, key=key, name="Invoice triage")
    assert version is not None
    instance = start_instance(version, {"invoice_text": "Invoice 7, USD 120"}, initiator=org["employee"])
    step = Step.objects.get(instance=instance, node_id="Task_read_invoice", status=Step.Status.QUEUED)
    claim_step(step.id, 1)
    full = {"vendor": "ACME", "amount": 120, "category": "Other", "reason": "", **answer}
    complete_step(step.id, 1, {"answer": full, "model": "m", "conversation": []})
    return ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)


@pytest.mark.parametrize(
    ("words", "outcome"),
    [
        ("approve", "approved"),
        ("Approved.", "approved"),
        ("YES", "approved"),
        ("reject", "rejected"),
        ("No", "rejected"),
        ("review", "changes_requested"),
        ("request-changes", "changes_requested"),
        ("maybe", None),
        ("", None),
        ("approve if cheaper", None),
    ],
)
def test_recommendation_words_stand_for_a_decision_or_none(words: str, outcome: str | None) -> None:
    assert advised_outcome(words) == outcome


def test_an_approver_agreeing_with_the_ai_is_recorded_on_the_decision(org: dict[str, Any]) -> None:
    task = triage_task(org, {"recommendation": "approve", "reason": "A small, usual amount."})

    complete_task(task.id, org["fiona"], "approved")

    task.refresh_from_db()
    assert task.advice == {
        "recommendation": "approve",
        "reason": "A small, usual amount.",
        "step": "Read the invoice",
        "outcome": "approved",
    }
    assert task.advice_agreed is True


def test_deciding_otherwise_or_without_a_clear_recommendation_is_recorded_too(org: dict[str, Any]) -> None:
    against = triage_task(org, {"recommendation": "reject", "reason": "Unusually high."})
    complete_task(against.id, org["fiona"], "approved", comment="Known supplier")
    against.refresh_from_db()
    assert against.advice is not None and against.advice["outcome"] == "rejected"
    assert against.advice_agreed is False

    unclear = triage_task(org, {"recommendation": "approve"})
    # The AI said something no decision stands for: advice shown, neither agreed nor not.
    Step.objects.filter(instance=unclear.instance, node_id="Task_read_invoice").update(
        output={"answer": {"recommendation": "hard to say"}}
    )
    complete_task(unclear.id, org["fiona"], "rejected", comment="Incomplete")
    unclear.refresh_from_db()
    assert unclear.advice is not None and unclear.advice["recommendation"] == "hard to say"
    assert unclear.advice["outcome"] == "" and unclear.advice_agreed is None


def test_a_decision_without_an_ai_step_records_no_advice_and_costs_no_query(org: dict[str, Any]) -> None:
    version = publish(approval_flow("manager"), key="buy", name="Buy something")
    instance = start_instance(version, {"item": "Desk", "amount": 100}, initiator=org["employee"])
    task = ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)
    other = start_instance(version, {"item": "Lamp", "amount": 100}, initiator=org["employee"])
    other_task = ApprovalTask.objects.get(instance=other, status=ApprovalTask.Status.OPEN)
    complete_task(other_task.id, org["manager"], "approved")  # warm caches (graph, CEL programs)

    with CaptureQueriesContext(connection) as queries:
        complete_task(task.id, org["manager"], "approved")

    task.refresh_from_db()
    assert task.advice is None and task.advice_agreed is None
    assert not [
        q for q in queries.captured_queries if "orchestration_step" in q["sql"] and "answer" in q["sql"]
    ]
    assert ProcessInstance.objects.get(id=instance.id).status == ProcessInstance.Status.COMPLETED
