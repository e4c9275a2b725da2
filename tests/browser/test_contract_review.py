"""The contract review demo in a real browser: cost centres approve, Legal reviews, e-signature declines, paper wins."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def _open_in_inbox(page: Page, title: str, task: str, *, queue: bool = True) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Inbox")).click()
    if queue:  # a group's task waits in the group queue tab until someone decides it
        page.get_by_test_id("tab-queue").click()
    page.get_by_test_id("task-row").filter(has_text=task).get_by_role("link", name=title).click()
    expect(page.get_by_test_id("decision")).to_be_visible()


def _approve(page: Page, comment: str = "") -> None:
    if comment:
        page.get_by_label("Comment").fill(comment)
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("decided")).to_contain_text("Approved by you")


def test_a_contract_declined_for_e_signature_is_signed_on_paper(demo, login, screenshot):
    title = "Office cleaning 2027"
    employee = login("employee")
    employee.get_by_role("navigation", name="Main").get_by_role("link", name="New request").click()
    employee.get_by_role("link", name="Start Contract review").click()
    employee.get_by_label("Contract title").fill(title)
    employee.get_by_label("Counterparty").fill("Decline Ltd")
    employee.get_by_label("Contract value").fill("48000")
    employee.get_by_label("Charged to cost centre MKT-110 (Marketing)").check()
    employee.get_by_label("Charged to cost centre FIN-100 (Finance)").check()
    screenshot(employee, "start-form")
    employee.get_by_role("button", name="Submit request").click()
    expect(employee.get_by_role("alert").filter(has_text="Your request was submitted")).to_be_visible()
    expect(employee.get_by_test_id("request-state")).to_have_text("Waiting for approval", timeout=30_000)
    detail = employee.get_by_test_id("state-detail")
    expect(detail).to_contain_text("Cost centre MKT-110")
    expect(detail).to_contain_text("Cost centre FIN-100")
    screenshot(employee, "submitted")

    manager = login("manager")
    _open_in_inbox(manager, title, "Cost centre approval: MKT-110")
    expect(manager.get_by_test_id("reason")).to_contain_text(
        "Queue of group Cost centre MKT-110, named in the request's data (for MKT-110, one of the cost centres)"
    )
    screenshot(manager, "cost-centre-task")
    _approve(manager, "Within the marketing budget")

    cfo = login("cfo")
    _open_in_inbox(cfo, title, "Cost centre approval: FIN-100")
    _approve(cfo)

    legal = login("legal")
    _open_in_inbox(legal, title, "Legal approval")
    screenshot(legal, "legal-task")
    _approve(legal, "Standard terms")

    # The worker sends it to the demo e-signature service, which declines: the manager signs on paper.
    employee.reload()
    expect(employee.get_by_test_id("state-detail")).to_contain_text("With Max Manager", timeout=30_000)
    expect(employee.get_by_test_id("timeline")).to_contain_text("Decline Ltd declined to sign electronically")
    _open_in_inbox(manager, title, "Sign on paper", queue=False)
    screenshot(manager, "sign-on-paper-task")
    _approve(manager, "Signed in ink")

    employee.reload()
    expect(employee.get_by_test_id("request-state")).to_have_text("Signed on paper", timeout=30_000)
    timeline = employee.get_by_test_id("timeline")
    expect(timeline).to_contain_text("Cost centre approval: MKT-110: approved by Max Manager")
    expect(timeline).to_contain_text("Legal approval: approved by Lee Lawson")
    screenshot(employee, "signed-on-paper")

    admin = login("admin")
    admin.goto("/designer/contract-review/")
    expect(admin.get_by_test_id("canvas")).to_have_attribute("data-ready", "true")
    expect(admin.locator('.djs-element[data-element-id="Boundary_signature_declined"]')).to_have_count(1)
    screenshot(admin, "diagram")
    admin.locator('.djs-element[data-element-id="Task_centre_approval"]').click()
    panel = admin.locator("#designer-panel [data-testid=designer-panel-form]")
    expect(panel.get_by_label("The group named in the request's data", exact=False)).to_be_checked()
    expect(panel.get_by_role("textbox", name="Named in")).to_have_value('"Cost centre " + centre')
    expect(panel.get_by_label("Insert a value into Named in")).to_contain_text("One item of the list (any)")
    screenshot(admin, "approval-panel")
