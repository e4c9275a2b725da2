"""Requests nobody submitted (started by a webhook, a schedule or a message) render everywhere."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.actions import complete_task
from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def unattended(org: dict[str, Any]) -> ApprovalTask:
    """A request started by a webhook (no initiator) waiting in fiona's Finance queue."""
    version = publish(approval_flow("group", "Finance"), key="feed", name="Supplier feed")
    instance = start_instance(version, {"item": "Paper", "amount": 80.0}, initiator=None, trigger="webhook")
    return ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("tab", ["", "?tab=queue", "?tab=decided"])
def test_inbox_lists_a_request_with_no_requester(org, unattended, tab):
    page = _client(org["fiona"]).get(f"/inbox/{tab}")

    assert page.status_code == 200


def test_queue_names_no_requester_with_a_dash(org, unattended):
    page = _client(org["fiona"]).get("/inbox/?tab=queue")

    assert b"Paper" in page.content
    assert '<td class="d-none d-md-table-cell">—</td>' in page.content.decode()


def test_task_page_says_the_system_requested_it(org, unattended):
    page = _client(org["fiona"]).get(f"/tasks/{unattended.id}/")

    assert page.status_code == 200
    assert b"requested by <strong>the system</strong>" in page.content


def test_decided_task_page_renders_without_a_requester(org, unattended):
    fiona = org["fiona"]
    complete_task(unattended.id, fiona, "approved", comment="fine")

    assert _client(fiona).get(f"/tasks/{unattended.id}/").status_code == 200
    assert _client(fiona).get("/inbox/?tab=decided").status_code == 200
