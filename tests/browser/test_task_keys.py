"""Keyboard decisions on the task page: a key announces the decision; it is sent later, at once, or undone."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.models import Workflow
from tests.conftest import wait_for

# Keys, countdown and bulk selection are the page's scripts; deciding, one or many, is tested on
# both backends in tests/approvals/test_views.py.
pytestmark = pytest.mark.backend_neutral


def _task_page(
    login: Any, amount: int = 1500, item: str = "Laptop", *, paused_clock: bool = False
) -> tuple[Page, ApprovalTask]:
    """The manager's task page; with ``paused_clock`` its timers run only when the test moves the clock."""
    version = Workflow.objects.get(key="purchase-approval").published_version
    employee = get_user_model().objects.get(username="employee")
    instance = start_instance(
        version, {"item": item, "amount": amount, "currency": "USD"}, initiator=employee
    )
    task = wait_for(
        lambda: ApprovalTask.objects.filter(instance=instance, status="open").first(),
        what="the manager's task",
    )
    page = login("manager")
    if paused_clock:
        page.clock.install()
    page.goto(f"/tasks/{task.pk}/")
    if paused_clock:
        page.clock.pause_at(time.time() + 60)  # after the page has loaded with its timers running
    return page, task


def _status(task: ApprovalTask) -> str:
    task.refresh_from_db()
    return task.status


def test_a_stray_a_keypress_does_not_approve_and_escape_undoes_it(demo, login, screenshot):
    page, task = _task_page(login)

    page.locator("body").press("a")

    pending = page.get_by_test_id("key-pending")
    expect(pending).to_be_visible()
    expect(pending).to_contain_text("Approve: sending in")
    screenshot(page, "pending")
    assert _status(task) == "open"
    page.locator("body").press("Escape")
    expect(pending).to_be_hidden()
    page.get_by_label("Comment").focus()  # typing an "a" in the comment is not a decision
    page.keyboard.type("a")
    expect(pending).to_be_hidden()
    assert _status(task) == "open"


def test_a_keypress_left_alone_approves_after_the_countdown(demo, login):
    page, task = _task_page(login, paused_clock=True)  # five seconds of the page's time, not of the run's

    page.locator("body").press("a")
    page.clock.run_for(4_000)

    expect(page.get_by_test_id("key-pending")).to_contain_text("Approve: sending in 1 s.")
    assert _status(task) == "open"
    page.clock.run_for(1_000)
    expect(page.get_by_test_id("decided")).to_contain_text("Approved by you")
    assert _status(task) == "completed"


def test_undo_button_and_decide_now_button(demo, login):
    page, _ = _task_page(login)
    page.locator("body").press("a")
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_test_id("key-pending")).to_be_hidden()

    page.locator("body").press("a")
    page.get_by_role("button", name="Decide now").click()

    expect(page.get_by_test_id("decided")).to_contain_text("Approved by you")


def test_the_reject_key_asks_for_a_comment_before_announcing(demo, login):
    page, _ = _task_page(login)

    page.locator("body").press("r")

    expect(page.get_by_label("Comment")).to_be_focused()
    expect(page.get_by_test_id("key-pending")).to_be_hidden()
    page.keyboard.type("Over budget")
    page.keyboard.press("Escape")  # leaves the comment
    page.keyboard.press("r")
    expect(page.get_by_test_id("key-pending")).to_contain_text("Reject: sending in")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("decided")).to_contain_text("Rejected by you")


def test_bulk_reject_sends_one_comment_from_the_inbox(demo, login, screenshot):
    _task_page(login, 700, "Chair")
    page, _ = _task_page(login, 800, "Desk")
    page.goto("/inbox/")
    page.get_by_label("Select all on this page").check()
    page.get_by_test_id("bulk-comment").fill("Budget frozen this quarter")
    page.once("dialog", lambda dialog: dialog.accept())

    page.get_by_test_id("bulk-reject").click()

    expect(page.get_by_role("alert").filter(has_text="Rejected 2 requests.")).to_be_visible()
    assert set(ApprovalTask.objects.filter(outcome="rejected").values_list("comment", flat=True)) == {
        "Budget frozen this quarter"
    }
    screenshot(page, "after-bulk-reject")
