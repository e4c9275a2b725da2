"""Who sees an Ask AI step's answer and conversation: operators all of it; approvers the answer;
requesters nothing of it, unless the designer shows them the answer (never the conversation)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from approvals.actions import complete_task
from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.engine.worker import claim_step, complete_step
from orchestration.models import Step
from tests.approvals.test_decision_advice import TRIAGE
from tests.orchestration.factories import publish
from tests.plain_words import assert_plain, page_text

pytestmark = pytest.mark.django_db

PROMPT = "Please read the invoice below"  # in the instruction, so in the conversation
SAID = "The AI answered in its own words here"


def _request(org: dict[str, Any], *, shown: bool) -> ApprovalTask:
    xml = TRIAGE
    if shown:
        xml = xml.replace(
            'baton:connector="ai.ask"', 'baton:connector="ai.ask" baton:answerToRequester="true"'
        )
    version = publish(xml, key="invoice-triage", name="Invoice triage")
    instance = start_instance(version, {"invoice_text": "Invoice 7, USD 120"}, initiator=org["employee"])
    step = Step.objects.get(instance=instance, node_id="Task_read_invoice")
    claim_step(step.id, 1)
    answer = {
        "vendor": "Northwind Traders",
        "amount": 120,
        "category": "IT hardware",
        "recommendation": "approve",
        "reason": "Typical for IT hardware.",
    }
    conversation = [
        {"role": "system", "content": "Answer with JSON."},
        {"role": "user", "content": f"{PROMPT}: Invoice 7"},
        {"role": "assistant", "content": SAID},
    ]
    complete_step(step.id, 1, {"answer": answer, "model": "m", "conversation": conversation})
    return ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _seen(client: Client, task: ApprovalTask) -> str:
    """Everything ``client``'s user is shown of the request: its page and its API (variables, steps, history)."""
    page = client.get(f"/requests/{task.instance_id}/")
    api = client.get(f"/api/instances/{task.instance_id}/")
    assert page.status_code == api.status_code == 200
    return page.content.decode() + json.dumps(api.json())


def test_by_default_the_requester_sees_neither_the_answer_nor_the_conversation(org: dict[str, Any]) -> None:
    task = _request(org, shown=False)

    seen = _seen(_client(org["employee"]), task)

    assert "Invoice 7, USD 120" in seen  # what they sent, as a check that the pages answered
    for private in ("Northwind Traders", "Typical for IT hardware", PROMPT, SAID):
        assert private not in seen


def test_the_designer_may_show_the_answer_to_the_requester_but_never_the_conversation(
    org: dict[str, Any],
) -> None:
    task = _request(org, shown=True)
    client = _client(org["employee"])

    page = client.get(f"/requests/{task.instance_id}/").content.decode()
    api = client.get(f"/api/instances/{task.instance_id}/").json()

    assert "Northwind Traders" in page and "Typical for IT hardware." in page
    assert_plain("the requester's page", page_text(page))
    assert api["variables"]["vendor"] == "Northwind Traders"
    seen = _seen(client, task)
    assert PROMPT not in seen and SAID not in seen


@pytest.mark.parametrize("shown", [False, True])
def test_an_approver_who_does_not_operate_the_workflow_never_sees_the_conversation(
    org: dict[str, Any], shown: bool
) -> None:
    task = _request(org, shown=shown)
    client = _client(org["fiona"])

    task_page = client.get(f"/tasks/{task.id}/").content.decode()
    seen = _seen(client, task) + task_page + json.dumps(client.get(f"/api/tasks/{task.id}/").json())

    assert "AI suggests: approve" in task_page and "Northwind Traders" in task_page
    assert PROMPT not in seen and SAID not in seen
    # The answer itself is for the people who decide: the request's page and its API agree.
    page = client.get(f"/requests/{task.instance_id}/").content.decode()
    api = client.get(f"/api/instances/{task.instance_id}/").json()
    assert "Northwind Traders" in page
    assert api["variables"]["vendor"] == "Northwind Traders"


def test_an_operator_sees_the_conversation(org: dict[str, Any]) -> None:
    task = _request(org, shown=False)
    boss = get_user_model().objects.create_superuser("boss")

    ops_page = _client(boss).get(f"/operations/requests/{task.instance_id}/").content.decode()

    assert PROMPT in ops_page and SAID in ops_page


@pytest.mark.parametrize("shown", [False, True])
def test_a_request_sent_back_to_its_requester_keeps_the_ai_answer_as_the_designer_says(
    org: dict[str, Any], shown: bool
) -> None:
    task = _request(org, shown=shown)
    complete_task(task.id, org["fiona"], "changes_requested", comment="Attach the delivery note")
    client = _client(org["employee"])

    [back] = client.get("/api/tasks/").json()["results"]

    assert back["variables"]["invoice_text"] == "Invoice 7, USD 120"
    assert ("vendor" in back["variables"]) is shown
    assert PROMPT not in json.dumps(back) and SAID not in json.dumps(back)


def test_the_requester_is_not_told_what_the_ais_tools_found(org: dict[str, Any]) -> None:
    from orchestration.models import Event

    task = _request(org, shown=True)
    step = Step.objects.get(instance=task.instance, node_id="Task_read_invoice")
    Event.objects.create(  # as orchestration.engine.tool_calls records a call
        instance=task.instance,
        workflow=task.instance.workflow,
        step=step,
        kind="step.tool_call",
        actor_label="worker",
        message="Read invoice: Look up vendor in the ERP — failed: no vendor named 'Acme Hidden' (12 ms)",
        data={"position": 1, "tool": "procurement.look_up_vendor", "code": "vendor_not_found"},
    )

    seen = _seen(_client(org["employee"]), task)

    assert "Acme Hidden" not in seen and "vendor_not_found" not in seen
