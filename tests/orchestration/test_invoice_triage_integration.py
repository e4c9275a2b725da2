"""The invoice triage demo with a real worker: the AI step asks a model server, a person decides.

The model server is the demo AI inside Baton (served by ``live_server``), or the scripted
chat-completions server of ``tests/orchestration/conftest.py`` for failures and rate limits.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from approvals.actions import complete_task
from approvals.models import ApprovalTask
from orchestration import connections
from orchestration.engine import start_instance
from orchestration.models import Connection, Event, Incident, ProcessInstance, Step, Workflow
from orchestration.ops.incidents import TOLD
from tests.conftest import Engine, wait_for
from tests.orchestration.test_connectors_ai import completion

pytestmark = [pytest.mark.integration]

User = get_user_model()
INVOICE = (
    "From: Northwind Computers Ltd\nInvoice 2026-118\n3 x Laptop 14-inch @ 1,400.00\nTotal due: USD 4,200.00"
)
KEY = "sk-live-never-stored-0123456789"


@pytest.fixture
def triage(live_engine: Engine, live_server: Any) -> Workflow:
    call_command("baton_demo", stdout=StringIO())
    connection = Connection.objects.get(name="demo-ai")
    connection.base_url = f"{live_server.url}/demo/ai/v1"
    connections.store_headers(connection, {"Authorization": f"Bearer {KEY}"})
    connection.save()
    Connection.objects.filter(name="demo-erp").update(base_url=f"{live_server.url}/demo/procurement")
    return Workflow.objects.get(key="invoice-triage")


def _start(workflow: Workflow, text: str = INVOICE) -> ProcessInstance:
    version = workflow.published_version
    assert version is not None
    return start_instance(version, {"invoice_text": text}, initiator=User.objects.get(username="employee"))


def _open_task(instance: ProcessInstance) -> ApprovalTask:
    found = wait_for(
        lambda: (
            ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN).first()
            or Incident.objects.filter(instance=instance).first()
        ),
        timeout=60,
        what="the approval task",
    )
    assert isinstance(found, ApprovalTask), found.error
    return found


def test_the_ai_reads_the_invoice_and_finance_approves_with_its_advice(triage: Workflow) -> None:
    instance = _start(triage)
    task = _open_task(instance)

    instance.refresh_from_db()
    assert instance.variables["vendor"] == "Northwind Computers Ltd"
    assert instance.variables["amount"] == 4200.0 and isinstance(instance.variables["amount"], float)
    assert instance.variables["category"] == "IT hardware"
    assert instance.variables["recommendation"] == "approve"
    step = Step.objects.get(instance=instance, node_id="Task_read_invoice")
    assert step.output["usage"]["total"] > 0 and step.output["duration_ms"] >= 0
    assert step.output["model"] == "baton-demo"
    conversation = step.output["conversation"]
    assert conversation[1]["role"] == "user" and INVOICE in conversation[1]["content"]
    assert json.loads(conversation[-1]["content"])["category"] == "IT hardware"
    # The AI looked the vendor up in the demo ERP first, with the step's key for that call.
    (lookup,) = step.output["tool_calls"]
    assert lookup["label"] == "Look up vendor in the ERP"
    assert lookup["arguments"] == {"vendor": "Northwind Computers Ltd"}
    assert lookup["result"]["vendor_id"] == "V-1001" and lookup["key"] == f"{step.idempotency_key}-tool-1"
    assert "The ERP lists Northwind Computers Ltd as approved" in instance.variables["reason"]
    assert Event.objects.filter(step=step, kind="step.tool_call").count() == 1

    # The approver sees the advice; the requester's own page shows no conversation.
    cfo = Client()
    cfo.force_login(User.objects.get(username="cfo"))
    page = cfo.get(f"/tasks/{task.id}/").content.decode()
    assert "AI suggests: approve" in page and "typical for IT hardware" in page
    employee = Client()
    employee.force_login(User.objects.get(username="employee"))
    own = employee.get(f"/requests/{instance.id}/").content.decode()
    assert "Please read the invoice" not in own and "AI suggests" not in own
    assert "IT hardware" not in own and "Recommendation" not in own  # the AI's answers too
    assert "IT hardware" in page  # the approver sees what the AI extracted
    mine = employee.get(f"/api/instances/{instance.id}/").json()
    assert mine["history"] and "category" not in mine["variables"] and "vendor" not in mine["variables"]
    assert "Please read the invoice" not in json.dumps(mine) and "IT hardware" not in json.dumps(mine)
    assert "V-1001" not in json.dumps(mine)  # nor what its tools found
    admin_api = Client()
    admin_api.force_login(User.objects.get(username="admin"))
    operated = admin_api.get(f"/api/instances/{instance.id}/").json()
    assert operated["variables"]["category"] == "IT hardware"
    assert "Please read the invoice" in json.dumps(operated)

    # The key is nowhere: not in the step, the history, the operations API or the pages.
    admin = Client()
    admin.force_login(User.objects.get(username="admin"))
    api = admin.get(f"/api/operations/instances/{instance.id}/").content.decode()
    ops_page = admin.get(f"/operations/requests/{instance.id}/").content.decode()
    events = json.dumps(list(Event.objects.filter(instance=instance).values("message", "data")))
    assert "Please read the invoice" in api  # operators see the prompt
    assert "Please read the invoice" in ops_page and "&quot;total&quot;: " in ops_page  # and the tokens
    assert "Look up vendor in the ERP — " in ops_page  # and each tool call, in plain words
    (read,) = [r for r in json.loads(api)["steps"] if r["node_id"] == "Task_read_invoice"]
    assert read["tool_calls"][0].startswith("Look up vendor in the ERP — ")
    for stored in (json.dumps(step.output), json.dumps(step.input), events, api, ops_page, page):
        assert KEY not in stored

    complete_task(task.id, User.objects.get(username="cfo"), "approved", comment="Agreed with the AI")
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "approved"


def test_an_unusual_amount_is_advised_against(triage: Workflow) -> None:
    instance = _start(triage, "Vendor: Paper World GmbH\nCopy paper, 900 boxes\nTotal: 18,000.00")
    _open_task(instance)
    instance.refresh_from_db()
    assert instance.variables["category"] == "Office supplies"
    assert instance.variables["recommendation"] == "reject"
    assert "unusually high for Office supplies" in instance.variables["reason"]


def test_rate_limited_then_answered_and_an_invalid_answer_twice_is_an_incident(
    triage: Workflow, http_server: Any
) -> None:
    Connection.objects.filter(name="demo-ai").update(base_url=f"{http_server.url}/v1")
    good = {
        "vendor": "ACME",
        "amount": 120,
        "category": "Other",
        "recommendation": "approve",
        "reason": "Small amount.",
    }
    http_server.answer({"status": 429, "body": {"error": "rate limited"}}, {"body": completion(good)})
    instance = _start(triage)
    _open_task(instance)
    step = Step.objects.get(instance=instance, node_id="Task_read_invoice")
    assert step.attempt == 2  # the engine's retry with backoff, not the connector's
    assert Event.objects.filter(instance=instance, kind="step.retry_scheduled").exists()

    http_server.answer({"body": completion({**good, "category": "Snacks"})})
    broken = _start(triage)
    incident = wait_for(
        lambda: Incident.objects.filter(instance=broken).first(), timeout=60, what="an incident"
    )
    assert "invalid twice" in incident.error and '"category" must be one of' in incident.error
    step = Step.objects.get(instance=broken, node_id="Task_read_invoice")
    assert step.status == Step.Status.INCIDENT and step.attempt == 1  # not retried: an operator fixes it
    # Finance, who operate the workflow, are told (and the worker is done with it before the test ends).
    told = wait_for(
        lambda: Event.objects.filter(kind=TOLD, data__incident=incident.id).first(),
        timeout=30,
        what="the notice",
    )
    assert "cfo" in told.data["recipients"]
