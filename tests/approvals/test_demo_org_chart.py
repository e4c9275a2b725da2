"""The demo company's org chart and limits, as ``baton_demo`` loads them."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from approvals import chain
from approvals.actions import complete_task
from approvals.chain import route
from approvals.models import ApprovalTask, AuthorityLimit, ExchangeRate, FinalApprovers, Profile
from orchestration.engine import start_instance
from orchestration.models import ProcessInstance, Workflow
from tests.conftest import Engine, wait_for

pytestmark = pytest.mark.django_db


def _next_decision(instance: ProcessInstance) -> ApprovalTask | None:
    """The request's open task once the worker has moved it on, or None once it has finished."""

    def settled() -> Any:
        instance.refresh_from_db()
        task = ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN).first()
        return task or instance.status != ProcessInstance.Status.RUNNING

    found = wait_for(settled, what=f"a task or the end of request {instance.id}")
    return found if isinstance(found, ApprovalTask) else None


def test_demo_loads_the_management_chain_and_limits_and_is_safe_to_run_twice():
    call_command("baton_demo", stdout=StringIO())
    call_command("baton_demo", stdout=StringIO())

    users = get_user_model().objects
    employee = users.get(username="employee")
    assert [u.username for u in chain.manager_chain(employee)] == ["manager", "director", "cfo"]
    assert [u.username for u in chain.manager_chain(users.get(username="buyer"))] == [
        "manager",
        "director",
        "cfo",
    ]
    assert Profile.objects.count() == 7
    assert dict(AuthorityLimit.objects.values_list("user__username", "amount")) == {
        "employee": Decimal("500"),
        "manager": Decimal("2000"),
        "director": Decimal("25000"),
        "cfo": Decimal("1000000"),
    }
    assert AuthorityLimit.objects.count() == 4  # in the base currency only: run twice, no duplicates
    assert set(AuthorityLimit.objects.values_list("currency", flat=True)) == {"USD"}
    # Other currencies are converted, never taken at face value (GBP 2,000 is not USD 2,000).
    assert {r.currency: r.rate for r in ExchangeRate.objects.all()} == {
        "EUR": Decimal("1.08"),
        "GBP": Decimal("1.27"),
    }
    assert route(employee, Decimal("1800"), "GBP").covered_by.approver.username == "director"
    assert not AuthorityLimit.objects.filter(group__name="Finance").exists()
    assert [str(row) for row in FinalApprovers.objects.all()] == ["Board for any request"]


# Amount → who decides, in turn, in the demo company: every length of the chain, and past its top.
# Limits are in USD; GBP and EUR amounts are converted first (GBP 1,800 is USD 2,286: over the manager's 2,000).
CHAIN_LENGTHS = [
    ("300", "USD", []),
    ("1500", "USD", ["manager"]),
    ("1800", "GBP", ["manager", "director"]),
    ("20000", "USD", ["manager", "director"]),
    ("900000", "USD", ["manager", "director", "cfo"]),
    ("950000", "EUR", ["manager", "director", "cfo", "the Board queue"]),
    ("1500000", "USD", ["manager", "director", "cfo", "the Board queue"]),
]


@pytest.mark.integration
def test_every_chain_length_of_the_demo_reaches_a_decision_even_over_a_million(live_engine: Engine):
    call_command("baton_demo", stdout=StringIO())
    users = get_user_model().objects
    employee, chair = users.get(username="employee"), users.get(username="chair")
    version = Workflow.objects.get(key="purchase-approval").published_version

    for amount, currency, expected in CHAIN_LENGTHS:
        instance = start_instance(
            version, {"item": f"Item {amount}", "amount": amount, "currency": currency}, initiator=employee
        )
        deciders = []
        while (task := _next_decision(instance)) is not None:
            holder = task.assignee.username if task.assignee else f"the {task.candidate_group} queue"
            deciders.append(holder)
            assert len(deciders) <= len(expected), f"{currency} {amount}: {deciders} (reason: {task.reason})"
            complete_task(task.id, task.assignee or chair, "approved", comment="Fine")

        assert deciders == expected, f"{currency} {amount}"
        assert (instance.status, instance.outcome) == (ProcessInstance.Status.COMPLETED, "approved"), amount
