"""The page an emailed one-click link opens: confirm, then the decision is recorded."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from approvals import links
from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.models import Workflow
from tests.conftest import wait_for


def _open_task(item: str, amount: float) -> ApprovalTask:
    employee = get_user_model().objects.get(username="employee")
    version = Workflow.objects.get(key="purchase-approval").published_version
    instance = start_instance(
        version, {"item": item, "amount": amount, "currency": "USD"}, initiator=employee, trigger="manual"
    )
    # The worker checks the requester's authority first; then the manager's task opens.
    return wait_for(
        lambda: ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN).first(),
        what="the manager's approval task",
    )


def _link(task: ApprovalTask, username: str, action: links.Action) -> str:
    user = get_user_model().objects.get(username=username)
    return f"/tasks/link/{links.make_token(task, user, action)}/"


def test_an_approve_link_asks_to_confirm_and_records_the_decision(demo: Any, login, screenshot) -> None:
    task = _open_task("Standing desk", 1500)
    page = login("manager")

    page.goto(_link(task, "manager", "approve"))

    card = page.get_by_test_id("task-link")
    expect(card).to_have_attribute("data-state", "confirm")
    expect(card).to_contain_text("Standing desk")
    expect(card).to_contain_text("USD 1,500.00")
    expect(card).to_contain_text("Signed in as Max Manager")
    screenshot(page, "confirm-approve")
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.OPEN  # opening the link decided nothing

    page.get_by_label("Comment").fill("Good value")
    page.get_by_role("button", name="Confirm approval").click()

    expect(page).to_have_url(re.compile(rf"/tasks/{task.id}/$"))
    expect(page.get_by_test_id("decided")).to_contain_text("Approved by you")
    task.refresh_from_db()
    assert (task.outcome, task.comment, task.decided_by.username) == ("approved", "Good value", "manager")


def test_a_reject_link_opened_by_someone_else_offers_to_switch_user(demo: Any, login, screenshot) -> None:
    task = _open_task("Office chair", 1200)
    page = login("director")

    page.goto(_link(task, "manager", "reject"))

    expect(page.get_by_test_id("task-link")).to_have_attribute("data-state", "wrong_user")
    screenshot(page, "wrong-user")
    page.get_by_role("button", name="Sign out and switch user").click()
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("baton")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_test_id("task-link")).to_have_attribute("data-state", "confirm")
    page.get_by_role("button", name="Confirm rejection").click()
    expect(page.get_by_test_id("error-comment")).to_contain_text("A rejection needs a comment")
    screenshot(page, "confirm-reject-error")
    page.get_by_label("Why are you rejecting it?").fill("Not in this budget")
    page.get_by_role("button", name="Confirm rejection").click()

    expect(page.get_by_test_id("decided")).to_contain_text("Rejected by you")
    task.refresh_from_db()
    assert task.outcome == "rejected" and task.decided_by.username == "manager"
