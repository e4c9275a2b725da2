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
from approvals.models import ApprovalTask, AuthorityLimit, FinalApprovers, Profile
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
    assert Profile.objects.count() == 6
    assert dict(AuthorityLimit.objects.values_list("user__username", "amount")) == {
        "employee": Decimal("500"),
        "manager": Decimal("2000"),
        "director": Decimal("25000"),
        "cfo": Decimal("1000000"),
    }
    assert AuthorityLimit.objects.count() == 12  # each person in USD, EUR and GBP: run twice, no duplicates
    assert set(AuthorityLimit.objects.values_list("currency", flat=True)) == {"USD", "EUR", "GBP"}
    assert not AuthorityLimit.objects.filter(group__name="Finance").exists()
    assert [str(row) for row in FinalApprovers.objects.all()] == ["Board for any request"]


# Amount → who decides, in turn, in the demo company: every length of the chain, and past its top.
CHAIN_LENGTHS = [
    (300, []),
    (1_500, ["manager"]),
    (20_000, ["manager", "director"]),
    (900_000, ["manager", "director", "cfo"]),
    (1_500_000, ["manager", "director", "cfo", "the Board queue"]),
]


@pytest.mark.integration
def test_every_chain_length_of_the_demo_reaches_a_decision_even_over_a_million(live_engine: Engine):
    call_command("baton_demo", stdout=StringIO())
    users = get_user_model().objects
    employee, chair = users.get(username="employee"), users.get(username="chair")
    version = Workflow.objects.get(key="purchase-approval").published_version

    for amount, expected in CHAIN_LENGTHS:
        instance = start_instance(
            version, {"item": f"Item {amount}", "amount": amount, "currency": "USD"}, initiator=employee
        )
        deciders = []
        while (task := _next_decision(instance)) is not None:
            holder = task.assignee.username if task.assignee else f"the {task.candidate_group} queue"
            deciders.append(holder)
            assert len(deciders) <= len(expected), f"USD {amount}: {deciders} (reason: {task.reason})"
            complete_task(task.id, task.assignee or chair, "approved", comment="Fine")

        assert deciders == expected, f"USD {amount}"
        assert (instance.status, instance.outcome) == (ProcessInstance.Status.COMPLETED, "approved"), amount
