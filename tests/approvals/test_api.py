"""The task API: deciding, and the slower of two deciders told who has the task (409, never 404)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from approvals.actions import claim_task, complete_task
from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def queued(org: dict[str, Any]) -> ApprovalTask:
    """A Finance queue task; the manager is in Finance too."""
    version = publish(approval_flow("group", "Finance"), key="queue")
    instance = start_instance(version, {"item": "Audit", "amount": 10}, initiator=org["employee"])
    org["manager"].groups.add(org["fiona"].groups.get())
    return ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)


def test_deciding_a_task_another_member_claimed_is_a_conflict_naming_them(org, queued):
    claim_task(queued.id, org["fiona"])

    response = _client(org["manager"]).post(f"/api/tasks/{queued.id}/complete/", {"outcome": "approved"})

    assert response.status_code == 409
    assert response.json() == {
        "detail": "fiona has taken this task; it is theirs to decide now.",
        "decided_by": None,
        "holder": "fiona",
    }


def test_deciding_a_task_another_member_decided_is_a_conflict_naming_the_decider(org, queued):
    complete_task(queued.id, org["fiona"], "approved")

    response = _client(org["manager"]).post(f"/api/tasks/{queued.id}/complete/", {"outcome": "approved"})

    assert response.status_code == 409
    assert response.json()["decided_by"] == "fiona"


def test_a_task_of_someone_elses_group_stays_not_found(org, queued):
    response = _client(org["director"]).post(f"/api/tasks/{queued.id}/complete/", {"outcome": "approved"})

    assert response.status_code == 404
