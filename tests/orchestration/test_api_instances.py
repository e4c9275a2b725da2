"""The instances API: who sees which instance, filters, detail with steps and history, cancel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from guardian.shortcuts import assign_perm

from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.models import ProcessInstance, WorkflowVersion
from tests import bpmn
from tests.orchestration.conftest import Client
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    return {name: users.objects.create_user(name) for name in ("owner", "alice", "bob", "victor", "olga")}


@pytest.fixture
def version(people: dict) -> WorkflowVersion:
    """A purchase approval owned by ``owner``; ``bob`` approves."""
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("item", required=True)),
        bpmn.user_task("approve", name="Approve purchase", assignee="bob"),
        bpmn.end("end", outcome="approved"),
        *bpmn.chain("start", "approve", "end"),
    )
    return publish(xml, key="purchase", owner=people["owner"])


def _start(version: WorkflowVersion, user: Any, item: str = "desk", key: str = "") -> ProcessInstance:
    return start_instance(version, {"item": item}, initiator=user, business_key=key)


def test_initiator_sees_their_instance_and_an_outsider_sees_nothing(
    api: Client, people: dict, version: WorkflowVersion
) -> None:
    instance = _start(version, people["alice"])

    mine = api(people["alice"]).get("/api/instances/")
    theirs = api(people["olga"]).get("/api/instances/")
    detail = api(people["olga"]).get(f"/api/instances/{instance.id}/")

    assert [i["id"] for i in mine.data["results"]] == [str(instance.id)]
    assert theirs.status_code == 200 and theirs.data["results"] == []
    assert detail.status_code == 404
    assert "desk" not in detail.content.decode()


def test_operators_see_every_instance_and_view_instance_grants_one(
    api: Client, people: dict, version: WorkflowVersion
) -> None:
    first = _start(version, people["alice"])
    second = _start(version, people["alice"], item="chair")
    assign_perm("orchestration.view_workflow", people["victor"], version.workflow)
    assign_perm("orchestration.change_workflow", people["victor"], version.workflow)
    assign_perm("orchestration.view_instance", people["olga"], second)

    by_workflow = api(people["victor"]).get("/api/instances/")
    by_instance = api(people["olga"]).get("/api/instances/")

    assert {i["id"] for i in by_workflow.data["results"]} == {str(first.id), str(second.id)}
    assert [i["id"] for i in by_instance.data["results"]] == [str(second.id)]
    assert api(people["olga"]).get(f"/api/instances/{first.id}/").status_code == 404


def test_viewing_a_workflow_in_the_catalog_does_not_show_other_peoples_requests(
    api: Client, people: dict, version: WorkflowVersion
) -> None:
    instance = _start(version, people["alice"])
    assign_perm("orchestration.view_workflow", people["victor"], version.workflow)

    assert api(people["victor"]).get("/api/instances/").data["results"] == []
    assert api(people["victor"]).get(f"/api/instances/{instance.id}/").status_code == 404


def test_list_filters_by_workflow_status_incident_key_and_start_time(
    api: Client, people: dict, version: WorkflowVersion
) -> None:
    running = _start(version, people["alice"], key="PO-1")
    cancelled = _start(version, people["alice"], key="PO-2")
    client = api(people["owner"])
    client.post(f"/api/instances/{cancelled.id}/cancel/", {}, format="json")
    soon = (timezone.now() + timedelta(minutes=1)).isoformat()

    def ids(query: str) -> set[str]:
        response = client.get(f"/api/instances/?{query}")
        assert response.status_code == 200, response.data
        return {i["id"] for i in response.data["results"]}

    assert ids("workflow=purchase") == {str(running.id), str(cancelled.id)}
    assert ids("workflow=other") == set()
    assert ids("status=running") == {str(running.id)}
    assert ids("business_key=PO-2") == {str(cancelled.id)}
    assert ids("has_incident=true") == set()
    assert ids("has_incident=false") == {str(running.id), str(cancelled.id)}
    assert ids(f"started_before={soon.replace('+', '%2B')}") == {str(running.id), str(cancelled.id)}
    assert ids(f"started_after={soon.replace('+', '%2B')}") == set()


def test_malformed_filter_is_400_naming_it(api: Client, people: dict, version: WorkflowVersion) -> None:
    response = api(people["owner"]).get("/api/instances/?status=sleeping&started_after=yesterday")

    assert response.status_code == 400
    assert set(response.data) == {"status", "started_after"}


def test_detail_shows_variables_steps_waiting_task_and_history(
    api: Client, people: dict, version: WorkflowVersion
) -> None:
    instance = _start(version, people["alice"])

    response = api(people["alice"]).get(f"/api/instances/{instance.id}/")

    assert response.status_code == 200
    data = response.data
    assert data["workflow"] == "purchase" and data["version"] == 1 and data["status"] == "running"
    assert data["variables"] == {"item": "desk"} and data["initiator"] == "alice"
    start, approve = data["steps"]
    assert start["node_id"] == "start" and start["status"] == "completed" and start["tasks"] is None
    assert approve["node_name"] == "Approve purchase" and approve["kind"] == "user_task"
    assert approve["status"] == "waiting" and approve["attempt"] == 0
    task = ApprovalTask.objects.get(instance=instance)
    assert approve["tasks"] == [{"id": task.id, "assignee": "bob", "group": None, "holder": "bob"}]
    kinds = [event["kind"] for event in data["history"]]
    assert kinds[0] == "instance.started" and "task.created" in kinds
    assert set(data["history"][0]) == {"kind", "message", "actor_label", "data", "created_at"}


def test_initiator_cancels_with_a_reason_and_a_second_cancel_is_a_conflict(
    api: Client, people: dict, version: WorkflowVersion
) -> None:
    instance = _start(version, people["alice"])
    client = api(people["alice"])

    response = client.post(
        f"/api/instances/{instance.id}/cancel/", {"reason": "Bought it myself"}, format="json"
    )
    again = client.post(f"/api/instances/{instance.id}/cancel/", {}, format="json")

    assert response.status_code == 200
    assert response.data["status"] == "cancelled"
    assert response.data["history"][-1]["message"] == "Cancelled: Bought it myself"
    assert ApprovalTask.objects.get(instance=instance).status == ApprovalTask.Status.CANCELLED
    assert again.status_code == 409 and "already cancelled" in again.data["detail"]


def test_operator_with_change_workflow_may_cancel_anyones_instance(
    api: Client, people: dict, version: WorkflowVersion
) -> None:
    instance = _start(version, people["alice"])

    response = api(people["owner"]).post(f"/api/instances/{instance.id}/cancel/", {}, format="json")

    assert response.status_code == 200 and response.data["status"] == "cancelled"


def test_viewer_may_not_cancel_and_an_outsider_cannot_find_the_instance(
    api: Client, people: dict, version: WorkflowVersion
) -> None:
    instance = _start(version, people["alice"])
    assign_perm("orchestration.view_instance", people["victor"], instance)

    viewer = api(people["victor"]).post(f"/api/instances/{instance.id}/cancel/", {}, format="json")
    outsider = api(people["olga"]).post(f"/api/instances/{instance.id}/cancel/", {}, format="json")

    assert viewer.status_code == 403
    assert outsider.status_code == 404
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.RUNNING


def test_unknown_instance_id_is_404(api: Client, people: dict) -> None:
    response = api(people["owner"]).get("/api/instances/00000000-0000-0000-0000-000000000000/")

    assert response.status_code == 404
