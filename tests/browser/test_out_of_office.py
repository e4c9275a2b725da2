"""A manager sets their own out of office; their delegate approves on their behalf, with their limit."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.models import ProcessInstance, Workflow
from tests.conftest import wait_for


def test_a_manager_sets_out_of_office_and_the_delegate_approves_on_their_behalf(
    demo: Any, login, screenshot
) -> None:
    today = timezone.localdate()
    manager = login("manager")
    manager.get_by_test_id("user-menu").click()
    manager.get_by_test_id("menu-out-of-office").click()
    expect(manager.get_by_role("heading", name="Out of office")).to_be_visible()

    manager.get_by_label("First day away").fill(today.isoformat())
    manager.get_by_label("Last day away").fill((today - datetime.timedelta(days=1)).isoformat())
    manager.get_by_label("Who decides for you").select_option(label="Ivan Buyer (buyer)")
    manager.get_by_role("button", name="Save").click()
    expect(manager.get_by_test_id("error-ends")).to_have_text(
        "The last day is before the first day: check the dates."
    )
    manager.get_by_label("Last day away").fill((today + datetime.timedelta(days=2)).isoformat())
    manager.get_by_role("button", name="Save").click()
    expect(manager.get_by_test_id("absence-now")).to_contain_text("Ivan Buyer decides for you")
    expect(manager.get_by_test_id("absence-history")).to_contain_text("Max Manager is out of office from")
    screenshot(manager, "out-of-office")

    employee = get_user_model().objects.get(username="employee")
    version = Workflow.objects.get(key="purchase-approval").published_version
    instance = start_instance(
        version,
        {"item": "Monitor", "amount": "1500", "currency": "USD"},
        initiator=employee,
        trigger="manual",
    )
    task = wait_for(
        lambda: ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN).first(),
        what="the approval task",
    )
    assert (task.assignee.username, task.on_behalf_of.username) == ("buyer", "manager")

    buyer = login("buyer")
    buyer.goto(f"/tasks/{task.id}/")
    expect(buyer.get_by_test_id("reason")).to_contain_text(
        "delegated to Ivan Buyer, who decides on Max Manager's behalf"
    )
    buyer.get_by_role("button", name="Approve").click()
    expect(buyer.get_by_test_id("decided")).to_contain_text("Approved by you on behalf of Max Manager")
    screenshot(buyer, "decided-on-behalf")

    # Max Manager's USD 2,000 limit covers USD 1,500: approved, nobody above was asked.
    wait_for(
        lambda: ProcessInstance.objects.filter(pk=instance.pk, outcome="approved").exists(),
        what="the approved request",
    )
    assert not ApprovalTask.objects.filter(instance=instance).exclude(pk=task.pk).exists()
    requester = login("employee")
    requester.goto(f"/requests/{instance.pk}/")
    expect(requester.get_by_test_id("decided-by").first).to_have_text("Ivan Buyer on behalf of Max Manager")
    expect(requester.locator("body")).to_contain_text(
        re.compile("approved by Ivan Buyer on behalf of Max Manager")
    )
    screenshot(requester, "request-page")
