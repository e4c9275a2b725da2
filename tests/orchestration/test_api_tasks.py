"""The tasks API: an approver's inbox and decisions, including two people deciding one task."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.models import ProcessInstance
from tests import bpmn
from tests.orchestration.conftest import Client
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    finance = Group.objects.create(name="Finance")
    people = {name: users.objects.create_user(name) for name in ("alice", "bob", "carol", "olga")}
    people["bob"].groups.add(finance)
    people["carol"].groups.add(finance)
    return people


def _flow(**task: str) -> str:
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("item", required=True)),
        bpmn.user_task("approve", name="Approve purchase", **task),
        bpmn.gateway("ok", default="f_no"),
        bpmn.end("yes", outcome="approved"),
        bpmn.end("no", outcome="rejected"),
        bpmn.flow("start", "approve"),
        bpmn.flow("approve", "ok"),
        bpmn.flow("ok", "yes", id="f_yes", condition='approval.outcome == "approved"'),
        bpmn.flow("ok", "no", id="f_no"),
    )


@pytest.fixture
def group_task(people: dict) -> ApprovalTask:
    """A task queued for the Finance group (bob and carol), requested by alice."""
    instance = start_instance(
        publish(_flow(groups="Finance"), key="buy"), {"item": "desk"}, initiator=people["alice"]
    )
    return ApprovalTask.objects.get(instance=instance)


def _complete(client: APIClient, task: ApprovalTask, **body: Any) -> Any:
    return client.post(f"/api/tasks/{task.id}/complete/", body, format="json")


def test_group_members_see_the_queued_task_and_others_do_not(
    api: Client, people: dict, group_task: ApprovalTask
) -> None:
    bobs = api(people["bob"]).get("/api/tasks/")
    alices = api(people["alice"]).get("/api/tasks/")

    [listed] = bobs.data["results"]
    assert listed["id"] == group_task.id and listed["name"] == "Approve purchase"
    assert listed["candidate_group"] == "Finance" and listed["requester"] == "alice"
    assert listed["variables"] == {"item": "desk"} and listed["status"] == "open"
    assert alices.data["results"] == []


def test_approving_resumes_the_process(api: Client, people: dict, group_task: ApprovalTask) -> None:
    response = _complete(api(people["bob"]), group_task, outcome="approved", comment="Fine")

    assert response.status_code == 200, response.data
    assert response.data["status"] == "completed" and response.data["decided_by"] == "bob"
    assert response.data["outcome"] == "approved" and response.data["comment"] == "Fine"
    instance = ProcessInstance.objects.get(id=group_task.instance_id)
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "approved"


def test_second_decision_is_a_conflict_naming_who_decided(
    api: Client, people: dict, group_task: ApprovalTask
) -> None:
    first = _complete(api(people["bob"]), group_task, outcome="approved")

    second = _complete(api(people["carol"]), group_task, outcome="rejected", comment="Too dear")

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.data == {"detail": "Already approved by bob.", "decided_by": "bob", "holder": None}
    assert ProcessInstance.objects.get(id=group_task.instance_id).outcome == "approved"


def test_decided_tasks_leave_the_open_list_but_stay_in_all(
    api: Client, people: dict, group_task: ApprovalTask
) -> None:
    client = api(people["bob"])
    _complete(client, group_task, outcome="approved")

    assert client.get("/api/tasks/").data["results"] == []
    assert [t["id"] for t in client.get("/api/tasks/?status=all").data["results"]] == [group_task.id]
    assert [t["id"] for t in client.get("/api/tasks/?status=completed").data["results"]] == [group_task.id]
    assert client.get("/api/tasks/?status=later").status_code == 400


def test_rejection_without_a_comment_is_400_naming_the_comment(
    api: Client, people: dict, group_task: ApprovalTask
) -> None:
    response = _complete(api(people["bob"]), group_task, outcome="rejected")

    assert response.status_code == 400
    assert response.data == {"comment": ["A rejection needs a comment for the requester."]}
    group_task.refresh_from_db()
    assert group_task.status == ApprovalTask.Status.OPEN


def test_unknown_outcome_is_400_naming_the_outcome(
    api: Client, people: dict, group_task: ApprovalTask
) -> None:
    response = _complete(api(people["bob"]), group_task, outcome="maybe")

    assert response.status_code == 400 and "outcome" in response.data


@pytest.mark.parametrize(
    "data",
    [{"note": "a\x00b"}, {"note\x00": "x"}, {"lines": [{"text": ["\x00"]}]}],
    ids=["value", "name", "nested"],
)
def test_a_nul_character_in_the_decisions_data_is_a_400_not_a_database_error(
    api: Client, people: dict, group_task: ApprovalTask, data: dict
) -> None:
    # The Approval declares no fields, so its data is kept as sent: PostgreSQL cannot store a NUL in it.
    response = _complete(api(people["bob"]), group_task, outcome="approved", data=data)

    assert response.status_code == 400 and "data" in response.data
    group_task.refresh_from_db()
    assert group_task.status == ApprovalTask.Status.OPEN


def test_a_task_the_user_cannot_see_is_not_found(api: Client, people: dict, group_task: ApprovalTask) -> None:
    client = api(people["olga"])

    detail = client.get(f"/api/tasks/{group_task.id}/")
    decision = _complete(client, group_task, outcome="approved")

    assert detail.status_code == 404 and decision.status_code == 404
    assert "desk" not in detail.content.decode() + decision.content.decode()
    group_task.refresh_from_db()
    assert group_task.status == ApprovalTask.Status.OPEN


def test_approving_your_own_request_is_forbidden(api: Client, people: dict) -> None:
    instance = start_instance(
        publish(_flow(groups="Finance"), key="buy"), {"item": "desk"}, initiator=people["bob"]
    )
    task = ApprovalTask.objects.get(instance=instance)

    response = _complete(api(people["bob"]), task, outcome="approved")

    assert response.status_code == 403
    assert response.data["detail"] == "You cannot approve your own request."


def test_named_assignee_sees_only_their_own_task(api: Client, people: dict) -> None:
    instance = start_instance(
        publish(_flow(assignee="carol"), key="buy"), {"item": "desk"}, initiator=people["alice"]
    )

    carols = api(people["carol"]).get("/api/tasks/").data["results"]
    bobs = api(people["bob"]).get("/api/tasks/").data["results"]

    assert [t["instance"] for t in carols] == [str(instance.id)] and carols[0]["assignee"] == "carol"
    assert bobs == []
