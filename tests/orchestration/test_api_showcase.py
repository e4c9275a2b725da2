"""The showcase, end to end through the API: the purchase approval with a real worker and ERP.

A designer uploads ``orchestration/fixtures/purchase_approval.bpmn`` and publishes it;
an employee starts purchase requests; the worker checks signature authority, the
employee's manager and then the director decide through the API (the authority
chain), and the worker places the order with the demo procurement service (the ``procurement_url`` fixture names the URL the worker
posts to) and emails the requester.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from guardian.shortcuts import assign_perm
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from approvals.models import AuthorityLimit, Profile
from orchestration.demo_procurement.models import DemoOrder
from orchestration.models import Workflow
from tests.conftest import Engine, wait_for

pytestmark = [pytest.mark.integration]

FIXTURE = Path(__file__).resolve().parents[2] / "orchestration" / "fixtures" / "purchase_approval.bpmn"


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _settled(client: APIClient, instance_id: str) -> dict[str, Any] | None:
    """The instance once it stops running (or waits for a person), else None."""
    data: dict[str, Any] = client.get(f"/api/instances/{instance_id}/").data
    waiting_for_people = any(s["kind"] == "user_task" and s["status"] == "waiting" for s in data["steps"])
    return data if data["status"] != "running" or waiting_for_people else None


def test_purchase_request_is_approved_through_the_api_and_becomes_an_order(
    procurement_url: str, live_engine: Engine
) -> None:
    users = get_user_model()
    designer = users.objects.create_user("dana")
    designer.user_permissions.add(Permission.objects.get(codename="add_workflow"))
    # The demo company's chain: employee (USD 500) → manager (USD 2,000) → director (USD 25,000).
    director = users.objects.create_user("director", first_name="Dana", last_name="Director")
    manager = users.objects.create_user("manager", first_name="Max", last_name="Manager")
    employee = users.objects.create_user(
        "employee", first_name="Emma", last_name="Employee", email="employee@example.com"
    )
    for person, boss, limit in ((director, None, 25000), (manager, director, 2000), (employee, manager, 500)):
        Profile.objects.create(user=person, manager=boss)
        AuthorityLimit.objects.create(user=person, amount=limit, currency="USD")
    designing, requesting = _client(designer), _client(employee)
    managing, directing = _client(manager), _client(director)

    created = designing.post(
        "/api/workflows/",
        {"key": "purchase-approval", "name": "Purchase approval", "description": "Showcase"},
        format="json",
    )
    saved = designing.put(
        "/api/workflows/purchase-approval/draft/?revision=1",
        FIXTURE.read_text(encoding="utf-8"),
        content_type="application/xml",
    )
    published = designing.post("/api/workflows/purchase-approval/publish/", {}, format="json")
    assert [created.status_code, saved.status_code, published.status_code] == [201, 200, 201]
    assert saved.data["errors"] == []
    workflow = Workflow.objects.get(key="purchase-approval")
    for perm in ("view_workflow", "start_workflow"):  # the catalog shares a workflow with requesters
        assign_perm(f"orchestration.{perm}", employee, workflow)

    small = requesting.post(
        "/api/workflows/purchase-approval/start/",
        {"data": {"item": "Keyboard", "amount": 80, "currency": "USD"}},
        format="json",
    )
    large = requesting.post(
        "/api/workflows/purchase-approval/start/",
        {"data": {"item": "Laptop", "amount": 5000, "currency": "USD", "justification": "Old one died"}},
        format="json",
    )
    assert small.status_code == 201 and large.status_code == 201, (small.data, large.data)

    # Within the employee's authority: approved automatically and ordered without a person.
    auto = wait_for(lambda: _settled(requesting, small.data["id"]), 90, what="the small request")
    assert auto["status"] == "completed" and auto["outcome"] == "approved", auto
    assert auto["variables"]["approval"]["by"] == "baton"

    # Above it: the manager decides first, but USD 5,000 is beyond their limit, so the director
    # decides next; then the order is placed.
    waiting = wait_for(lambda: _settled(requesting, large.data["id"]), 90, what="the approval task")
    assert waiting["status"] == "running", waiting
    [task] = managing.get("/api/tasks/").data["results"]
    assert task["instance"] == large.data["id"] and task["variables"]["amount"] == "5000.00"
    assert task["reason"].startswith("Level 1 of Emma Employee's management chain")
    assert requesting.get("/api/tasks/").data["results"] == []
    assert directing.get("/api/tasks/").data["results"] == []
    decided = managing.post(
        f"/api/tasks/{task['id']}/complete/", {"outcome": "approved", "comment": "Fine by me"}, format="json"
    )
    assert decided.status_code == 200, decided.data
    [task] = directing.get("/api/tasks/").data["results"]
    assert task["reason"].endswith("Dana Director's limit USD 25,000.00 covers it")
    decided = directing.post(
        f"/api/tasks/{task['id']}/complete/", {"outcome": "approved", "comment": "Go ahead"}, format="json"
    )
    assert decided.status_code == 200, decided.data
    done = wait_for(lambda: _settled(requesting, large.data["id"]), 90, what="the order to be placed")
    assert done["status"] == "completed" and done["outcome"] == "approved", done
    assert done["variables"]["approval"] == {
        "outcome": "approved",
        "comment": "Go ahead",
        "by": "director",
        "level": 2,
    }
    order_id = done["variables"]["order_id"]
    assert order_id.startswith("PO-")
    order = DemoOrder.objects.get(order_id=order_id)
    assert order.item == "Laptop" and order.requester == "employee"
    assert [s["node_id"] for s in done["steps"]][-2:] == ["Task_notify_requester", "EndEvent_approved"]
    assert procurement_url.endswith("/demo/procurement/orders/")
