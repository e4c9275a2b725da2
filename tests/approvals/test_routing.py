"""No dead ends: when nobody eligible is left, the final approvers decide, else an incident says why."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from approvals import history
from approvals.actions import complete_task
from approvals.models import NOBODY_MAY_DECIDE, ApprovalTask, FinalApprovers
from orchestration.engine import start_instance
from orchestration.models import Incident, ProcessInstance, Step
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _request(
    org: dict[str, Any], amount: float, rule: str = "authority_chain", **extra: str
) -> ProcessInstance:
    version = publish(approval_flow(rule, **extra), key=f"buy-{rule}")
    return start_instance(version, {"item": "Laptop", "amount": amount}, initiator=org["employee"])


def _open_task(instance: ProcessInstance) -> ApprovalTask:
    return ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)


def _approve_up_the_chain(org: dict[str, Any], instance: ProcessInstance) -> None:
    for who in ("manager", "director", "cfo"):
        complete_task(_open_task(instance).id, org[who], "approved")


@pytest.fixture
def cfo_alone_in_finance(org: dict[str, Any]) -> dict[str, Any]:
    """The demo's Finance group: the CFO is its only member (the issue's dead end)."""
    finance = Group.objects.get(name="Finance")
    finance.user_set.set([org["cfo"]])
    return org


@pytest.fixture
def board(django_user_model: Any) -> Group:
    """A Board group with one member, named final approvers for any request."""
    group = Group.objects.create(name="Board")
    group.user_set.add(django_user_model.objects.create_user("chair", first_name="Carla", last_name="Chair"))
    FinalApprovers.objects.create(group=group)
    return group


def test_over_the_cfos_limit_the_final_approvers_decide_when_finance_already_approved(
    cfo_alone_in_finance, board
):
    org = cfo_alone_in_finance
    instance = _request(org, 1_500_000)

    _approve_up_the_chain(org, instance)

    task = _open_task(instance)
    assert task.candidate_group == board and task.assignee is None
    assert "nobody else in the Finance group may decide it (Chris Finance already approved it)" in task.reason
    assert task.reason.endswith("so the final approvers decide: the Board group")
    complete_task(task.id, board.user_set.get(), "approved")
    instance.refresh_from_db()
    assert instance.outcome == "approved"


def test_without_final_approvers_the_dead_end_is_an_incident_told_in_plain_words(cfo_alone_in_finance):
    org = cfo_alone_in_finance
    instance = _request(org, 1_500_000)

    _approve_up_the_chain(org, instance)

    assert not ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN).exists()
    instance.refresh_from_db()
    incident = Incident.objects.get(instance=instance, resolved_at__isnull=True)
    assert incident.error.startswith(NOBODY_MAY_DECIDE)
    assert "Chris Finance already approved it" in incident.error
    assert "no final approvers are set for USD requests" in incident.error
    state = history.request_state(instance, [], incident.error)
    assert state.label == "Waiting for an approver"
    assert state.detail.startswith(
        f"{NOBODY_MAY_DECIDE}: Emma Employee's management chain ends after level 3"
    )


def test_final_approvers_all_barred_raise_an_incident_naming_each_group(cfo_alone_in_finance):
    org = cfo_alone_in_finance
    FinalApprovers.objects.create(group=Group.objects.get(name="Finance"))
    empty = Group.objects.create(name="Audit")
    FinalApprovers.objects.create(group=empty, currency="USD", position=1)
    instance = _request(org, 1_500_000)

    _approve_up_the_chain(org, instance)

    error = Incident.objects.get(instance=instance).error
    assert "the Audit group has no members" in error
    assert Step.objects.get(instance=instance, node_id="approve").status == Step.Status.INCIDENT


def test_final_approvers_of_another_currency_are_not_asked(cfo_alone_in_finance, board):
    FinalApprovers.objects.filter(group=board).update(currency="EUR")
    instance = _request(cfo_alone_in_finance, 1_500_000)

    _approve_up_the_chain(cfo_alone_in_finance, instance)

    assert Incident.objects.filter(instance=instance).exists()


def test_an_empty_group_queue_goes_to_the_fallback_group(org, board):
    Group.objects.create(name="Buyers")

    instance = _request(org, 100, rule="group", candidateGroups="Buyers")

    task = _open_task(instance)
    assert task.candidate_group.name == "Finance"
    assert task.reason == (
        "Queue of group Buyers, but the Buyers group has no members, so it goes to the fallback group Finance"
    )


def test_a_group_of_only_the_requester_with_an_empty_fallback_goes_to_the_final_approvers(org, board):
    Group.objects.create(name="Buyers").user_set.add(org["employee"])
    Group.objects.get(name="Finance").user_set.clear()

    instance = _request(org, 100, rule="group", candidateGroups="Buyers")

    task = _open_task(instance)
    assert task.candidate_group == board
    assert (
        "(Emma Employee made the request); and the Finance group has no members, so the final" in task.reason
    )


def test_an_inactive_group_goes_to_the_fallback_group(org):
    Group.objects.create(name="Buyers").user_set.add(org["director"])
    org["director"].is_active = False
    org["director"].save()

    instance = _request(org, 100, rule="group", candidateGroups="Buyers")

    task = _open_task(instance)
    assert task.candidate_group.name == "Finance", task.reason


def test_an_inactive_named_approver_goes_to_the_fallback_group(org):
    org["manager"].is_active = False
    org["manager"].save()

    instance = _request(org, 100, rule="user", assignee="manager")

    task = _open_task(instance)
    assert task.candidate_group.name == "Finance"
    assert (
        task.reason
        == "The named approver manager is not an active user; routed to the fallback group Finance"
    )


def test_everyone_must_approve_with_nobody_eligible_is_an_incident_in_plain_words(org):
    Group.objects.create(name="Buyers").user_set.add(org["employee"])

    instance = _request(org, 100, rule="group", candidateGroups="Buyers", quorum="all")

    error = Incident.objects.get(instance=instance).error
    assert error.startswith(
        f"{NOBODY_MAY_DECIDE}: everyone in the Buyers group must approve, but nobody else in the Buyers "
        "group may decide it (Emma Employee made the request)"
    )
