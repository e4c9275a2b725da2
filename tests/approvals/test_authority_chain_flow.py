"""Approval blocks routed by the org chart, run by the engine without a worker."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from approvals.actions import TaskAlreadyDecided, complete_task
from approvals.models import ApprovalTask, AuthorityLimit, Profile
from orchestration.engine import start_instance
from orchestration.models import Event, ProcessInstance, Step, Timer
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _request(
    org: dict[str, Any], amount: float, rule: str = "authority_chain", **data: Any
) -> ProcessInstance:
    version = publish(approval_flow(rule), key=f"buy-{rule}")
    return start_instance(version, {"item": "Laptop", "amount": amount, **data}, initiator=org["employee"])


def _open_task(instance: ProcessInstance) -> ApprovalTask:
    return ApprovalTask.objects.select_related("assignee", "candidate_group").get(
        instance=instance, status=ApprovalTask.Status.OPEN
    )


def test_five_thousand_goes_to_the_manager_then_the_director_then_resumes(org):
    instance = _request(org, 5000)
    first = _open_task(instance)
    assert (first.assignee, first.chain_level) == (org["manager"], 1)
    assert first.limit_applied == "USD 2,000.00 for Max Manager"
    assert first.reason.startswith("Level 1 of Emma Employee's management chain: Max Manager's limit")

    complete_task(first.id, org["manager"], "approved", comment="Fine by me")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.RUNNING and "approval" not in instance.variables
    assert Step.objects.get(instance=instance, node_id="approve").status == Step.Status.WAITING
    second = _open_task(instance)
    assert (second.assignee, second.chain_level) == (org["director"], 2)
    assert second.reason == (
        "Level 2 of Emma Employee's management chain: Max Manager's limit USD 2,000.00 does not cover "
        "USD 5,000.00; Dana Director's limit USD 25,000.00 covers it"
    )
    escalated = Event.objects.get(instance=instance, kind="task.escalated")
    assert (
        escalated.message
        == "Manager approval: approved at level 1 by Max Manager, next: Dana Director (level 2)"
    )

    complete_task(second.id, org["director"], "approved", comment="Go ahead")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "approved"
    assert instance.variables["approval"] == {
        "outcome": "approved",
        "comment": "Go ahead",
        "by": "director",
        "level": 2,
    }


def test_approval_within_the_managers_limit_resumes_at_level_one(org):
    instance = _request(org, 1500)

    complete_task(_open_task(instance).id, org["manager"], "approved")

    instance.refresh_from_db()
    assert instance.outcome == "approved" and instance.variables["approval"]["level"] == 1
    assert not Event.objects.filter(instance=instance, kind="task.escalated").exists()


def test_rejection_at_level_one_ends_the_request(org):
    instance = _request(org, 5000)

    complete_task(_open_task(instance).id, org["manager"], "rejected", comment="Not this quarter")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "rejected"
    assert instance.variables["approval"] == {
        "outcome": "rejected",
        "comment": "Not this quarter",
        "by": "manager",
        "level": 1,
    }
    assert not ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN).exists()


def test_chain_that_ends_below_the_amount_goes_to_the_finance_group(org):
    instance = _request(org, 2_000_000)
    for approver in ("manager", "director", "cfo"):
        complete_task(_open_task(instance).id, org[approver], "approved")

    queued = _open_task(instance)

    assert queued.assignee is None and queued.candidate_group.name == "Finance"
    assert queued.chain_level == 4
    assert queued.reason == (
        "Emma Employee's management chain ends after level 3 without a limit covering USD 2,000,000.00; "
        "routed to the fallback group Finance"
    )
    complete_task(queued.id, org["fiona"], "approved", comment="Board approved")
    instance.refresh_from_db()
    assert instance.outcome == "approved" and instance.variables["approval"]["by"] == "fiona"


def test_requester_without_a_manager_goes_straight_to_the_finance_group(org):
    Profile.objects.filter(user=org["employee"]).update(manager=None)

    task = _open_task(_request(org, 5000))

    assert task.candidate_group.name == "Finance"
    assert task.reason.startswith(
        "Emma Employee has no manager in the org chart who can approve USD 5,000.00"
    )


def test_the_currency_variable_selects_the_limits(org):
    AuthorityLimit.objects.create(user=org["manager"], amount=Decimal("10000"), currency="EUR")
    instance = _request(org, 5000, currency="EUR")

    task = _open_task(instance)
    assert task.limit_applied == "EUR 10,000.00 for Max Manager"
    complete_task(task.id, org["manager"], "approved")

    instance.refresh_from_db()
    assert instance.outcome == "approved"


def test_each_level_gets_its_own_due_date_and_reminder(org):
    instance = _request(org, 5000)
    first = _open_task(instance)
    first_timers = set(Timer.objects.filter(instance=instance).values_list("id", flat=True))
    assert len(first_timers) == 2

    complete_task(first.id, org["manager"], "approved")

    pending = Timer.objects.filter(instance=instance, cancelled_at__isnull=True)
    assert {t.kind for t in pending} == {Timer.Kind.DUE, Timer.Kind.REMINDER}
    assert not first_timers & {t.id for t in pending}
    assert _open_task(instance).due_at == pending.get(kind=Timer.Kind.DUE).due_at


def test_a_level_once_decided_cannot_be_decided_again(org):
    instance = _request(org, 5000)
    first = _open_task(instance)
    complete_task(first.id, org["manager"], "approved")

    with pytest.raises(TaskAlreadyDecided, match="Already approved by Max Manager"):
        complete_task(first.id, org["manager"], "rejected", comment="Changed my mind")


def test_the_next_level_cannot_decide_a_lower_levels_task(org):
    instance = _request(org, 5000)

    with pytest.raises(PermissionDenied):
        complete_task(_open_task(instance).id, org["director"], "approved")


def test_manager_rule_assigns_the_requesters_manager_or_their_delegate(org):
    Profile.objects.filter(user=org["manager"]).update(
        out_of_office_from="2000-01-01", out_of_office_to="2999-12-31", delegate=org["director"]
    )

    task = _open_task(_request(org, 50, rule="manager"))

    assert task.assignee == org["director"] and task.chain_level == 0
    assert task.reason == (
        "Emma Employee's manager; Max Manager is out of office until 31 Dec 2999; delegated to Dana Director"
    )


def test_manager_rule_never_assigns_the_requester_through_delegation(org):
    Profile.objects.filter(user=org["manager"]).update(
        out_of_office_from="2000-01-01", delegate=org["employee"]
    )

    task = _open_task(_request(org, 50, rule="manager"))

    assert task.candidate_group.name == "Finance"
    assert task.reason.endswith(
        "Emma Employee is the requester and cannot approve it; routed to the fallback group Finance"
    )


def test_a_manager_cycle_routes_to_the_fallback_group_naming_the_loop(org):
    Profile.objects.filter(user=org["cfo"]).update(manager=org["employee"])

    task = _open_task(_request(org, 5000))

    assert task.candidate_group.name == "Finance"
    assert task.reason.startswith("Manager chain loops: employee → manager → director → cfo → employee")


def test_an_escalation_that_cannot_be_routed_raises_an_incident_and_keeps_the_decision(org):
    Profile.objects.filter(user=org["director"]).update(manager=None)
    Group.objects.filter(name="Finance").delete()
    instance = _request(org, 30000)
    complete_task(_open_task(instance).id, org["manager"], "approved")

    complete_task(_open_task(instance).id, org["director"], "approved", comment="My part is done")

    step = Step.objects.get(instance=instance, node_id="approve")
    assert step.status == Step.Status.INCIDENT
    assert step.error.startswith("Nobody may decide this request: ")
    assert (
        "but the group Finance does not exist; and no final approvers are set for USD requests" in step.error
    )
    assert ApprovalTask.objects.get(instance=instance, chain_level=2).outcome == "approved"
    assert not ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN).exists()


def test_each_level_above_the_first_is_named_for_whose_approval_it_is(org):
    Profile.objects.filter(user=org["director"]).update(title="Director of marketing")
    instance = _request(org, 2_000_000)
    assert _open_task(instance).name == "Manager approval"
    complete_task(_open_task(instance).id, org["manager"], "approved")

    assert _open_task(instance).name == "Level 2 approval: Director of marketing"
    complete_task(_open_task(instance).id, org["director"], "approved")
    assert _open_task(instance).name == "Level 3 approval: Chris Finance"
    complete_task(_open_task(instance).id, org["cfo"], "approved")

    assert _open_task(instance).name == "Finance approval"
