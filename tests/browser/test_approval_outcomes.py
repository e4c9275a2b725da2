"""An Approval's decisions as paths, added from its panel; its approver fills in a field; the request follows."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from approvals.models import ApprovalTask
from orchestration.models import ProcessInstance, Workflow
from tests.browser.test_designer import (
    add_rows,
    append,
    apply,
    canvas_ready,
    click_flow,
    new_workflow,
    panel_form,
    select,
)
from tests.conftest import wait_for

# The approval panel's paths and fields are the page's scripts; what they write is tested on both
# backends in tests/designer/test_approval_paths.py, and each decision taking its path on the worker,
# with the approver's fields, in tests/orchestration/test_approval_outcomes.py.
pytestmark = pytest.mark.backend_neutral


def _labels_on_canvas(page) -> list[str]:
    """The labels the paths leaving ``approve`` show on the canvas."""
    return page.evaluate(
        """(id) => window.batonModeler.get('elementRegistry')
             .filter((e) => e.waypoints && e.source && e.source.id === id)
             .map((e) => e.label && e.label.businessObject.name).sort()""",
        _approval_id(page),
    )


def _approval_id(page) -> str:
    return page.get_by_test_id("designer-panel-form").get_attribute("data-element") or ""


def test_paths_added_from_the_approval_panel_take_the_decision_and_the_approver_fills_a_field(
    demo, login, screenshot
) -> None:
    page = login("admin")
    new_workflow(page, "Desk purchase")

    # The request form: what is bought.
    select(page, "StartEvent_1")
    form = panel_form(page, "start")
    add_rows(form, "Add a field", {"name, e.g. amount": "item", "Label": "Item", "required": "1"})
    apply(page)

    # The manager approves, and fills in the cost centre.
    approval = append(page, "StartEvent_1", "approval", "approval")
    form = panel_form(page, "approval")
    form.get_by_label("Name", exact=True).fill("Manager approval")
    form.get_by_label("The requester's manager").check()
    add_rows(
        form,
        "Add a field",
        {
            "name, e.g. amount": "cost_centre",
            "Label": "Cost centre",
            "select:type": "choice",
            "Choices: USD, EUR, GBP": "IT, Sales",
            "required": "1",
        },
    )
    apply(page)

    # After this approval: a path for Rejected, then one for Approved, each from its button.
    after = panel_form(page, "approval").get_by_test_id("approval-after")
    expect(after).to_contain_text("No path leaves this approval yet.")
    after.get_by_test_id("add-path-rejected").click()
    after = panel_form(page, "approval").get_by_test_id("approval-after")
    expect(after.locator("[data-outcome=rejected]")).to_contain_text("Rejected")
    expect(after.locator("[data-outcome=approved]")).to_contain_text("no path yet")
    expect(page.locator("#designer-panel [data-testid=panel-problems]")).to_contain_text("none for Approved")
    after.get_by_test_id("add-path-approved").click()
    after = panel_form(page, "approval").get_by_test_id("approval-after")
    expect(after.locator("[data-outcome=approved]")).to_contain_text("Approved")
    expect(after.locator("[data-outcome=changes_requested]")).to_contain_text("goes back to the requester")
    expect(after.get_by_test_id("add-path-approved")).to_have_count(0)
    expect(after.get_by_test_id("add-path-changes_requested")).to_be_visible()
    assert _labels_on_canvas(page) == ["Approved", "Rejected"]
    # Approved goes straight on; Rejected leaves from the bottom edge, to an End a row lower.
    rows = page.evaluate(
        """(id) => { const r = window.batonModeler.get('elementRegistry'); const a = r.get(id);
             const mid = (e) => e.y + e.height / 2;
             return [mid(a), a.y + a.height, mid(r.get('End_' + id + '_approved')),
                     mid(r.get('End_' + id + '_rejected')), r.get('Flow_' + id + '_rejected').waypoints[0].y]; }""",
        approval,
    )
    assert rows[2] == rows[0] and rows[3] > rows[1] and rows[4] == rows[1], rows
    expect(page.get_by_test_id("problems")).to_contain_text("No problems")
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")
    screenshot(page, "designer-approval-panel")

    # A path leaving the approval says which decision takes it.
    box = page.get_by_test_id("canvas").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 12)  # the context pad goes
    click_flow(page, f"Flow_{approval}_approved")
    path_form = panel_form(page, "path")
    expect(path_form.get_by_label("When")).to_have_value("approved")
    # Clicking the selected path again keeps it selected and its settings open (no reload).
    path_form.evaluate("(form) => { form.dataset.shownBefore = '1'; }")
    click_flow(page, f"Flow_{approval}_approved")
    selected = page.evaluate(
        "() => window.batonModeler.get('selection').get().map((e) => (e.labelTarget || e).id)"
    )
    assert selected == [f"Flow_{approval}_approved"]
    expect(path_form).to_have_attribute("data-shown-before", "1")
    expect(path_form.get_by_label("When")).to_have_value("approved")
    screenshot(page, "designer-path-panel")

    page.get_by_test_id("publish").click()
    page.get_by_label("Everyone who signs in to Baton").check()
    page.get_by_test_id("confirm-publish").click()
    expect(page.get_by_test_id("published-banner")).to_contain_text("Version 1 is live")

    employee = login("employee")
    employee.get_by_role("navigation", name="Main").get_by_role("link", name="New request").click()
    employee.get_by_role("link", name="Start Desk purchase").click()
    employee.get_by_label("Item").fill("Standing desk")
    employee.get_by_role("button", name="Submit request").click()
    expect(employee.get_by_test_id("request-state")).to_have_text("Waiting for approval", timeout=30_000)

    workflow = Workflow.objects.get(name="Desk purchase")
    instance = ProcessInstance.objects.get(workflow=workflow)
    task = wait_for(
        lambda: ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN).first(),
        what="the manager's task",
    )
    manager = login("manager")
    manager.goto(f"/tasks/{task.id}/")
    decision = manager.get_by_test_id("decision")
    expect(decision.get_by_test_id("approver-fields")).to_contain_text("Cost centre")
    screenshot(manager, "task-page-desktop")
    expect(manager.locator(".kbd-hint")).to_be_visible()
    manager.set_viewport_size({"width": 390, "height": 844})
    expect(manager.locator(".kbd-hint")).to_be_hidden()  # phones have no keys to press
    screenshot(manager, "task-page-phone")
    manager.set_viewport_size({"width": 1360, "height": 900})

    decision.get_by_role("button", name="Approve").click()
    expect(manager.get_by_test_id("error-cost_centre")).to_have_text("This field is required.")
    manager.get_by_test_id("decision").get_by_label("Cost centre").select_option("Sales")
    manager.get_by_test_id("decision").get_by_role("button", name="Approve").click()
    expect(manager.get_by_test_id("decided")).to_contain_text("Approved by you")
    expect(manager.get_by_test_id("filled")).to_contain_text("Cost centre: Sales")
    screenshot(manager, "task-page-decided")

    def finished() -> ProcessInstance | None:
        instance.refresh_from_db()
        return instance if instance.status == ProcessInstance.Status.COMPLETED else None

    done = wait_for(finished, what="the request to finish")
    assert done.outcome == "approved"
    assert list(done.steps.filter(kind="end").values_list("node_id", flat=True)) == [
        f"End_{approval}_approved"
    ]
    assert done.variables["cost_centre"] == "Sales"
    canvas_ready(page)
