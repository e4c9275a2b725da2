"""The showcase in a real browser: an employee's purchase request through the authority chain to an order."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from approvals.models import ApprovalTask
from orchestration.models import Event, ProcessInstance


def _submit(page: Page, item: str, amount: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New request").click()
    page.get_by_role("link", name="Start Purchase request").click()
    page.get_by_label("Item").fill(item)
    page.get_by_label("Amount").fill(amount)
    page.get_by_label("Justification").fill("Needed for the new starter")
    page.get_by_role("button", name="Submit request").click()
    expect(page.get_by_role("alert").filter(has_text="Your request was submitted")).to_be_visible()


def _open_in_inbox(page: Page, item: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Inbox")).click()
    page.get_by_role("link", name=item).click()
    expect(page.get_by_test_id("decision")).to_be_visible()
    # The keyboard shortcuts' script comes last on the page: a key pressed before it ran does nothing.
    page.wait_for_load_state()


def test_request_within_the_employees_limit_is_approved_and_ordered(demo, login, screenshot):
    employee = login("employee")

    _submit(employee, "Ergonomic keyboard", "150")

    expect(employee.get_by_test_id("request-state")).to_have_text("Approved", timeout=30_000)
    expect(employee.get_by_test_id("timeline")).to_contain_text("Place order: completed")
    expect(employee.get_by_test_id("request-data")).to_contain_text("PO-")
    expect(employee.get_by_test_id("chain")).to_have_count(0)
    screenshot(employee, "auto-approved")


def test_five_thousand_goes_manager_then_director_then_is_ordered(demo, login, screenshot):
    employee = login("employee")
    _submit(employee, "Design laptop", "5000")
    expect(employee.get_by_test_id("request-state")).to_have_text("Waiting for approval", timeout=30_000)
    expect(employee.get_by_test_id("state-detail")).to_contain_text("With Max Manager")
    screenshot(employee, "submitted")

    manager = login("manager")
    expect(manager.get_by_test_id("nav-count-inbox")).to_have_text("1")
    _open_in_inbox(manager, "Design laptop")
    expect(manager.get_by_test_id("reason")).to_contain_text("limit USD 2,000.00 does not cover USD 5,000.00")
    screenshot(manager, "manager-task")
    manager.get_by_label("Comment").fill("Fine by me")
    manager.get_by_role("button", name="Approve").click()
    expect(manager.get_by_test_id("decided")).to_contain_text("Approved by you")
    expect(manager.get_by_test_id("chain")).to_contain_text("Dana Director")

    director = login("director")
    _open_in_inbox(director, "Design laptop")
    expect(director.get_by_test_id("chain")).to_contain_text("Fine by me")
    director.keyboard.press("a")  # the keyboard shortcut announces the approval…
    director.keyboard.press("Enter")  # …and Enter sends it without waiting
    expect(director.get_by_test_id("decided")).to_contain_text("Approved by you")

    expect(employee.get_by_test_id("request-state")).to_have_text("Approved", timeout=30_000)
    timeline = employee.get_by_test_id("timeline")
    expect(timeline).to_contain_text("approved at level 1 by Max Manager")
    expect(timeline).to_contain_text("approved by Dana Director")
    expect(timeline).to_contain_text("Place order: completed")
    expect(employee.get_by_test_id("request-data")).to_contain_text("PO-")
    screenshot(employee, "approved")


def test_rejection_needs_a_reason_and_the_requester_sees_it(demo, login, screenshot):
    employee = login("employee")
    _submit(employee, "Gold-plated stapler", "900")
    expect(employee.get_by_test_id("request-state")).to_have_text("Waiting for approval", timeout=30_000)

    manager = login("manager")
    _open_in_inbox(manager, "Gold-plated stapler")
    manager.get_by_role("button", name="Reject").click()
    expect(manager.get_by_test_id("error-comment")).to_have_text(
        "A rejection needs a comment for the requester."
    )
    screenshot(manager, "reject-needs-comment")
    manager.get_by_label("Comment").fill("Not a business need")
    manager.get_by_role("button", name="Reject").click()
    expect(manager.get_by_test_id("decided")).to_contain_text("Rejected by you")

    expect(employee.get_by_test_id("request-state")).to_have_text("Rejected", timeout=30_000)
    expect(employee.get_by_test_id("chain")).to_contain_text("Not a business need")
    screenshot(employee, "rejected")


def test_two_sessions_approving_at_once_advance_the_request_once(demo, login, screenshot):
    employee = login("employee")
    _submit(employee, "Standing desk", "5000")
    expect(employee.get_by_test_id("request-state")).to_have_text("Waiting for approval", timeout=30_000)
    first, second = login("manager"), login("manager")
    for page in (first, second):
        _open_in_inbox(page, "Standing desk")

    # Both browsers click Approve at the same instant (one shared clock, one scheduled click each).
    at = time.time() * 1000 + 600
    for page in (first, second):
        page.evaluate(
            "at => setTimeout(() => document.querySelector('#decision button[value=approved]').click(), at - Date.now())",
            at,
        )

    for page in (first, second):
        expect(page.get_by_test_id("decided")).to_be_visible()
    warnings = [p for p in (first, second) if p.get_by_text("Your decision was not recorded").count()]
    assert len(warnings) == 1
    expect(warnings[0].get_by_role("alert")).to_contain_text("Already approved by Max Manager")
    screenshot(warnings[0], "second-decider")
    instance = ProcessInstance.objects.get(variables__item="Standing desk")
    decided = ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.COMPLETED)
    assert [(t.decided_by.username, t.outcome) for t in decided] == [("manager", "approved")]
    assert Event.objects.filter(instance=instance, kind="task.escalated").count() == 1
    assert (
        ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN).assignee.username
        == "director"
    )
