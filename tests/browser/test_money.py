"""Money in a real browser: an amount the currency cannot hold is refused on the field; a GBP request
is judged against USD limits at the exchange rate, and the approver's page says which rate applied."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from approvals.models import ApprovalTask
from orchestration.models import ProcessInstance


def _fill_request(page: Page, item: str, amount: str, currency: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New request").click()
    page.get_by_role("link", name="Start Purchase request").click()
    page.get_by_label("Item").fill(item)
    page.get_by_label("Amount").fill(amount)
    page.get_by_label("Currency").select_option(currency)
    page.get_by_role("button", name="Submit request").click()


def test_too_many_decimals_are_refused_on_the_field_and_a_gbp_request_names_its_rate(demo, login, screenshot):
    employee = login("employee")

    _fill_request(employee, "Monitor", "2000.004", "USD")

    expect(employee.get_by_text("An amount in USD has at most 2 decimals.")).to_be_visible()
    assert not ProcessInstance.objects.exists()
    screenshot(employee, "money-too-many-decimals")

    employee.get_by_label("Amount").fill("1800")
    employee.get_by_label("Currency").select_option("GBP")
    employee.get_by_role("button", name="Submit request").click()
    expect(employee.get_by_test_id("request-state")).to_have_text("Waiting for approval", timeout=30_000)
    expect(employee.get_by_test_id("request-data")).to_contain_text("GBP 1,800.00")
    expect(employee.get_by_test_id("request-data")).to_contain_text(
        "USD 500.00"
    )  # the authority limit checked

    manager = login("manager")
    task = ApprovalTask.objects.get(status=ApprovalTask.Status.OPEN)
    manager.goto(f"/tasks/{task.pk}/")
    expect(manager.get_by_test_id("reason")).to_contain_text(
        "Max Manager's limit USD 2,000.00 does not cover GBP 1,800.00, which is USD 2,286.00 "
        "at the rate of 1 Jan 2026 (1 GBP = 1.27 USD)"
    )
    expect(manager.get_by_text(re.compile(r"the request counts as USD 2,286\.00"))).to_be_visible()
    screenshot(manager, "money-task-with-rate")
    manager.set_viewport_size({"width": 390, "height": 844})
    expect(manager.get_by_test_id("reason")).to_be_visible()
    screenshot(manager, "money-task-with-rate-phone")


def test_who_can_approve_in_the_admin_says_what_the_process_does(demo, login, screenshot):
    admin = login("admin")
    admin.goto("/admin/approvals/authoritylimit/who-can-approve/")
    admin.get_by_label("Requester").select_option(label="Emma Employee (employee)")
    admin.get_by_label("Amount").fill("300")
    admin.get_by_role("button", name="Check").click()

    expect(admin.locator("#who-can-approve-result")).to_contain_text(
        "Emma Employee signs for it alone: approved at once, no approver needed"
    )
    expect(admin.locator("#who-can-approve-result")).to_contain_text("own limit USD 500.00 covers USD 300.00")
    screenshot(admin, "who-can-approve-own-limit")
