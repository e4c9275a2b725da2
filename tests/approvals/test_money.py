"""Money in approvals is exact: amounts in the currency's minor units, compared as Decimals, shown with the currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from approvals.models import ApprovalTask, AuthorityLimit
from approvals.notifications import summary
from orchestration.engine import start_instance
from orchestration.engine.start_data import StartDataError
from orchestration.models import Incident, ProcessInstance
from tests import bpmn
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _request(org: dict[str, Any], amount: Any, **data: Any) -> ProcessInstance:
    version = publish(approval_flow(), key="buy")
    return start_instance(version, {"item": "Laptop", "amount": amount, **data}, initiator=org["employee"])


def _open_task(instance: ProcessInstance) -> ApprovalTask:
    return ApprovalTask.objects.select_related("assignee").get(
        instance=instance, status=ApprovalTask.Status.OPEN
    )


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("2000.004", "An amount in USD has at most 2 decimals."),
        ("500.001", "An amount in USD has at most 2 decimals."),
        ("12345678901234567890.123", "Must be at most USD 1,000,000,000,000.00."),
        (1e20, "Must be at most USD 1,000,000,000,000.00."),
    ],
)
def test_an_amount_the_currency_cannot_hold_is_refused_naming_the_field(org, amount, error):
    with pytest.raises(StartDataError) as caught:
        _request(org, amount)

    assert caught.value.errors == {"amount": [error]}
    assert not ProcessInstance.objects.exists()


def test_one_cent_over_the_managers_limit_goes_up_a_level_and_says_so_exactly(org):
    instance = _request(org, "2000.01")

    assert instance.variables["amount"] == "2000.01"
    task = _open_task(instance)
    assert task.assignee == org["manager"]
    assert "Max Manager's limit USD 2,000.00 does not cover USD 2,000.01" in task.reason
    assert (task.amount, task.currency) == (Decimal("2000.01"), "USD")
    assert summary(task).amount == "USD 2,000.01"


def test_an_amount_in_a_currency_without_decimals_is_kept_and_shown_whole(org):
    AuthorityLimit.objects.create(user=org["manager"], amount=Decimal("300000"), currency="JPY")
    version = publish(approval_flow().replace('choices="USD,EUR"', 'choices="USD,EUR,JPY"'), key="buy-jpy")
    instance = start_instance(
        version, {"item": "Laptop", "amount": "250000", "currency": "JPY"}, initiator=org["employee"]
    )

    assert instance.variables["amount"] == "250000"
    task = _open_task(instance)
    assert task.limit_applied == "JPY 300,000 for Max Manager"
    assert summary(task).amount == "JPY 250,000"


def test_the_largest_amount_accepted_opens_a_task_that_holds_it(org):
    instance = _request(org, "1000000000000")

    task = ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)
    assert task.amount == Decimal(10) ** 12
    assert "does not cover USD 1,000,000,000,000.00" in task.reason


def test_a_request_without_a_currency_is_an_incident_not_a_silent_usd(org):
    flow = bpmn.definitions(
        bpmn.start("start", bpmn.field("amount", "number", required=True)),
        '<bpmn:userTask id="approve" name="Approval" baton:assigneeRule="authority_chain" baton:amount="amount"/>',
        bpmn.end("end"),
        bpmn.flow("start", "approve"),
        bpmn.flow("approve", "end"),
    )
    instance = start_instance(publish(flow, key="no-currency"), {"amount": 300}, initiator=org["employee"])

    assert not ApprovalTask.objects.filter(instance=instance).exists()
    incident = Incident.objects.get(instance=instance)
    assert "has no currency" in incident.error


def test_the_request_page_and_the_inbox_show_the_amount_with_its_currency(org):
    instance = _request(org, "2000.01")
    client = Client()
    client.force_login(org["manager"])

    page = client.get(f"/requests/{instance.id}/").content.decode()
    inbox = client.get("/inbox/").content.decode()

    assert "USD 2,000.01" in page
    assert "USD 2,000.01" in inbox


def test_the_start_form_offers_a_decimal_keyboard_for_a_money_field(org):
    from approvals.forms import StartForm
    from approvals.history import start_fields

    version = publish(approval_flow(), key="buy")
    html = str(StartForm(start_fields(version.graph))["amount"])

    assert 'inputmode="decimal"' in html and 'type="text"' in html
