"""The designer in a real browser: drawing, problems on the canvas, undo, autosave conflicts, import, live view."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Dialog, Page, expect

from designer.diagram import Diagram, extension_items
from orchestration.definitions import current_draft
from orchestration.engine import start_instance
from orchestration.models import Step, Workflow
from tests.conftest import wait_for

# The canvas, side panel, autosave and conflicts are the page's scripts; saving, publishing,
# importing and the live view's counts are tested on both backends in tests/designer/.
pytestmark = pytest.mark.backend_neutral

BPMN_FILES = Path(__file__).resolve().parent.parent / "orchestration" / "bpmn_files"


def canvas_ready(page: Page) -> None:
    expect(page.get_by_test_id("canvas")).to_have_attribute("data-ready", "true")


def new_workflow(page: Page, name: str) -> None:
    page.goto("/designer/")
    page.get_by_test_id("new-workflow").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create and open designer").click()
    canvas_ready(page)


def drop(page: Page, block: str, x: float, y: float) -> None:
    """Take ``block`` from the palette (by its visible label) and drop it at (x, y) on the page."""
    page.locator(".djs-palette").get_by_text(block, exact=True).click()
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.keyboard.press("Escape")  # bpmn-js opens the name editor on a new block


def shape(page: Page, element_id: str):
    return page.locator(f'.djs-element[data-element-id="{element_id}"]')


def select(page: Page, element_id: str) -> None:
    """Select a block by clicking it (clicking it again keeps it selected, canvas.js)."""
    block = shape(page, element_id)
    block.click()
    expect(block).to_have_class(re.compile(r"\bselected\b"))


def test_invalid_diagram_shows_its_errors_on_the_canvas_and_an_error_selects_its_block(
    demo, login, screenshot
) -> None:
    page = login("admin")
    new_workflow(page, "Laptop request")
    palette = page.locator(".djs-palette")
    for label in ("Start", "Approval", "Automated step", "Notify", "Decision", "Parallel split/join"):
        expect(palette.get_by_text(label, exact=True)).to_be_visible()
    expect(palette.get_by_text("Wait", exact=True)).to_be_visible()
    expect(page.locator(".bjs-powered-by")).to_be_visible()

    drop(page, "Decision", 640, 520)
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")
    problems = page.get_by_test_id("problems")
    expect(problems).to_contain_text("errors")
    decision = page.locator(".djs-element.baton-error[data-element-id^='Gateway_']")
    expect(decision).to_have_count(1)
    expect(page.locator(".baton-problem-badge.error").first).to_be_visible()

    page.get_by_role("button", name=re.compile("errors")).click()
    page.locator(".designer-problem", has_text="cannot be reached from any Start").click()
    expect(decision).to_have_class(re.compile(r"\bselected\b"))
    screenshot(page, "errors-on-canvas")

    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("save-state")).to_contain_text("before publishing")
    assert not Workflow.objects.get(name="Laptop request").versions.exclude(number=None).exists()


def test_undo_restores_a_deleted_block_and_autosave_keeps_up(demo, login, screenshot) -> None:
    page = login("admin")
    page.goto("/designer/purchase-approval/")
    canvas_ready(page)
    approval = shape(page, "Task_manager_approval")
    approval.click()
    page.keyboard.press("Delete")
    expect(approval).to_have_count(0)
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")
    workflow = Workflow.objects.get(key="purchase-approval")
    assert "Task_manager_approval" not in current_draft(workflow).bpmn_xml  # type: ignore[union-attr]

    page.get_by_role("button", name="Undo").click()
    expect(approval).to_have_count(1)
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")
    wait_for(lambda: "Task_manager_approval" in current_draft(workflow).bpmn_xml, what="the undo saved")  # type: ignore[union-attr]
    page.keyboard.press("Control+Shift+Z")  # redo from the keyboard
    expect(approval).to_have_count(0)
    page.keyboard.press("Control+Z")
    expect(approval).to_have_count(1)
    screenshot(page, "restored")


def test_a_second_tab_editing_the_same_draft_is_told_not_overwritten(demo, login, screenshot) -> None:
    first = login("admin")
    first.goto("/designer/purchase-approval/")
    canvas_ready(first)
    second = first.context.new_page()
    second.goto("/designer/purchase-approval/")
    canvas_ready(second)

    drop(first, "End", 700, 700)
    expect(first.get_by_test_id("save-state")).to_contain_text("Saved")
    drop(second, "Notify", 500, 700)
    banner = second.get_by_test_id("conflict-banner")
    expect(banner).to_contain_text("changed in another tab")
    expect(second.get_by_test_id("save-state")).to_contain_text("Conflict")
    screenshot(second, "conflict")
    draft = current_draft(Workflow.objects.get(key="purchase-approval"))
    assert draft is not None and "sendTask" not in draft.bpmn_xml.split("Task_notify_rejection")[-1]

    banner.get_by_role("button", name="Reload their version").click()
    canvas_ready(second)
    expect(second.get_by_test_id("conflict-banner")).to_be_hidden()


def test_changes_that_could_not_be_saved_are_offered_back_after_a_reload(demo, login) -> None:
    page = login("admin")
    page.goto("/designer/purchase-approval/")
    canvas_ready(page)
    page.route("**/designer/purchase-approval/save/", lambda route: route.abort())
    drop(page, "Wait", 600, 720)
    expect(page.get_by_test_id("save-state")).to_contain_text("Offline")
    page.unroute("**/designer/purchase-approval/save/")
    page.once("dialog", lambda dialog: dialog.accept())  # "leave with unsaved changes?"
    page.reload()
    canvas_ready(page)
    banner = page.get_by_test_id("restore-banner")
    expect(banner).to_contain_text("did not reach the server")
    banner.get_by_role("button", name="Restore them").click()
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")
    draft = current_draft(Workflow.objects.get(key="purchase-approval"))
    assert draft is not None and "bpmn:intermediateCatchEvent" in draft.bpmn_xml


def test_a_camunda_modeler_file_opens_shows_what_is_ignored_and_publishes(demo, login, screenshot) -> None:
    page = login("admin")
    new_workflow(page, "Invoice")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("import-file").set_input_files(str(BPMN_FILES / "camunda_invoice.bpmn"))
    canvas_ready(page)
    expect(page.get_by_role("alert").filter(has_text="Imported camunda_invoice.bpmn")).to_be_visible()
    expect(shape(page, "Activity_approve_invoice")).to_be_visible()
    page.get_by_role("button", name=re.compile("warning")).click()
    expect(page.get_by_test_id("problems")).to_contain_text("camunda:formKey")
    screenshot(page, "imported")

    page.get_by_test_id("publish").click()
    page.get_by_label("Everyone who signs in to Baton").check()
    page.get_by_test_id("confirm-publish").click()
    expect(page.get_by_test_id("published-banner")).to_contain_text("Version 1 is live")
    page.get_by_role("link", name="Versions").click()
    expect(page.get_by_test_id("version-1")).to_contain_text("First version")
    screenshot(page, "versions")


def test_live_view_counts_waiting_requests_and_follows_one(demo, login, screenshot) -> None:
    workflow = Workflow.objects.get(key="purchase-approval")
    employee = get_user_model().objects.get(username="employee")
    instance = start_instance(
        workflow.published_version,  # type: ignore[arg-type]
        {"item": "Standing desk", "amount": 5000, "currency": "USD"},
        initiator=employee,
        trigger="manual",
    )
    wait_for(
        lambda: Step.objects.filter(
            instance=instance, node_id="Task_manager_approval", status="waiting"
        ).exists(),
        what="the request to reach the manager's approval",
    )
    page = login("admin")
    page.goto("/designer/purchase-approval/live/")
    canvas_ready(page)
    expect(page.get_by_test_id("count-Task_manager_approval")).to_have_text("1")
    expect(page.get_by_test_id("running-total")).to_contain_text("1 running")
    page.get_by_test_id("instance-link").first.click()
    canvas_ready(page)
    expect(shape(page, "Task_manager_approval")).to_have_class(re.compile(r"\bbaton-current\b"))
    expect(shape(page, "Task_check_authority")).to_have_class(re.compile(r"\bbaton-visited\b"))
    expect(page.get_by_test_id("instance-steps")).to_contain_text("Check signature authority")
    screenshot(page, "live")


# --- the showcase, drawn from a blank canvas with the palette, the context pad and the side panel ---


def panel_form(page: Page, kind: str):
    form = page.locator("#designer-panel [data-testid=designer-panel-form]")
    expect(form).to_have_attribute("data-kind", kind)
    return form


def apply(page: Page) -> None:
    """Apply the side panel's form; fail with the form's own error messages if it refuses."""
    form = page.locator("#designer-panel [data-testid=designer-panel-form]")
    form.get_by_role("button", name="Apply").click()
    applied = page.locator("#designer-panel").get_by_test_id("panel-applied")
    refused = page.locator("#designer-panel .invalid-feedback:visible, #designer-panel [role=alert]:visible")
    expect(applied.or_(refused).first).to_be_visible()
    assert applied.is_visible(), refused.all_inner_texts()


def append(page: Page, source: str, block: str, kind: str) -> str:
    """Select ``source``, append ``block`` from its context pad; the new block's id."""
    select(page, source)
    page.locator(f'.djs-context-pad [data-action="append.baton-{block}"]').click()
    page.keyboard.press("Escape")
    form = panel_form(page, kind)
    # The source's own panel may still be showing (a Decision after a Merge has the same kind).
    expect(form).not_to_have_attribute("data-element", source)
    element = form.get_attribute("data-element")
    assert element and element != source
    return element


def connect(page: Page, source: str, target: str) -> None:
    select(page, source)
    page.locator('.djs-context-pad [data-action="connect"]').click()
    shape(page, target).click()
    expect(page.locator(".djs-connection.selected")).to_have_count(1)  # the new path
    # Click empty canvas, so that clicking the target next is not taken as a double click (rename).
    box = page.get_by_test_id("canvas").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 12)


def add_rows(form, add: str, *rows: dict[str, str]) -> None:
    """Add one row per dict under the button ``add``: placeholder → text, or "select:<name-suffix>" → option."""
    section = form.locator("[data-baton-rows]", has=form.page.get_by_role("button", name=add))
    for values in rows:
        section.get_by_role("button", name=add).click()
        row = section.locator("[data-baton-row]").last
        for target, value in values.items():
            if target.startswith("select:"):
                row.locator(f'select[name$="-{target[7:]}"]').select_option(value)
            elif target == "required":
                row.get_by_label("Required").check()
            else:
                row.get_by_placeholder(target, exact=True).fill(value)


def flow_between(page: Page, source: str, target: str) -> str:
    element: str = page.evaluate(
        """([source, target]) => window.batonModeler.get('elementRegistry')
             .find((e) => e.source && e.source.id === source && e.target.id === target).id""",
        [source, target],
    )
    return element


def click_flow(page: Page, flow: str) -> None:
    """Click the middle of a path on the canvas (paths bend, so their box's centre may miss them)."""
    point = page.evaluate(
        """(id) => {
             const path = document.querySelector(`.djs-connection[data-element-id="${id}"] .djs-hit`);
             const p = path.getPointAtLength(path.getTotalLength() / 2);
             const m = path.getScreenCTM();
             return {x: m.a * p.x + m.c * p.y + m.e, y: m.b * p.x + m.d * p.y + m.f};
           }""",
        flow,
    )
    page.mouse.click(point["x"], point["y"])
    expect(panel_form(page, "path")).to_have_attribute("data-element", flow)


def test_the_showcase_drawn_from_a_blank_canvas_publishes_and_a_request_reaches_its_approval(
    demo, login, screenshot
) -> None:
    page = login("admin")
    new_workflow(page, "Office purchase")

    # Start: the request form
    select(page, "StartEvent_1")
    form = panel_form(page, "start")
    form.get_by_label("Name", exact=True).fill("Purchase request")
    add_rows(
        form,
        "Add a field",
        {"name, e.g. amount": "item", "Label": "Item", "required": "1"},
        {"name, e.g. amount": "amount", "Label": "Amount", "select:type": "number", "required": "1"},
        {
            "name, e.g. amount": "currency",
            "Label": "Currency",
            "select:type": "choice",
            "Choices: USD, EUR, GBP": "USD,EUR,GBP",
            "required": "1",
        },
    )
    apply(page)

    # Check signature authority
    check = append(page, "StartEvent_1", "automated", "automated")
    form = panel_form(page, "automated")
    form.get_by_label("Name", exact=True).fill("Check signature authority")
    form.get_by_label("What should this step do?").select_option("approvals.check_authority")
    for needed, value in (("Amount", "amount"), ("Currency", "currency"), ("Who signs", "initiator")):
        form.get_by_role("combobox", name=f"{needed} (required)").select_option(value)
    form.get_by_text("Advanced: results and retries").click()
    add_rows(
        form,
        "Add result",
        {"name": "within_authority", "result.…": "result.covered", "select:type": "boolean"},
    )
    apply(page)

    within = append(page, check, "decision", "decision")
    panel_form(page, "decision").get_by_label("Name", exact=True).fill("Within authority?")
    apply(page)

    manager = append(page, within, "approval", "approval")
    form = panel_form(page, "approval")
    form.get_by_label("Name", exact=True).fill("Manager approval")
    form.get_by_label("Up the management chain until someone's signature limit covers the amount").check()
    form.get_by_role("textbox", name="Amount", exact=True).fill("amount")
    form.get_by_role("spinbutton", name="Due in", exact=True).fill("2")
    form.get_by_label("When overdue, hand over to").select_option("Finance")
    form.get_by_label("Save the decision as").fill("approval")
    apply(page)

    auto = append(page, within, "set-data", "set_data")
    form = panel_form(page, "set_data")
    form.get_by_label("Name", exact=True).fill("Auto-approve")
    add_rows(
        form,
        "Add a value",
        {"name": "approval", "value": '{"outcome": "approved", "comment": "Within authority"}'},
    )
    apply(page)

    merge = append(page, manager, "decision", "decision")
    connect(page, auto, merge)
    approved = append(page, merge, "decision", "decision")
    panel_form(page, "decision").get_by_label("Name", exact=True).fill("Approved?")
    apply(page)

    order = append(page, approved, "automated", "automated")
    form = panel_form(page, "automated")
    form.get_by_label("Name", exact=True).fill("Place order")
    form.get_by_label("What should this step do?").select_option("preset:erp.create_order")
    for needed, value in (
        ("What to buy", "item"),
        ("Amount", "amount"),
        ("Currency", "currency"),
        ("Ordered for", "initiator"),
    ):
        form.get_by_role("combobox", name=f"{needed} (required)").select_option(value)
    apply(page)

    notices = {}
    for source, name, subject, outcome in (
        (order, "Notify requester", "Your purchase was ordered", "approved"),
        (approved, "Notify rejection", "Your purchase was rejected", "rejected"),
    ):
        notices[outcome] = notify = append(page, source, "notify", "notify")
        form = panel_form(page, "notify")
        form.get_by_label("Name", exact=True).fill(name)
        form.get_by_role("textbox", name="To", exact=True).fill("{{initiator}}")
        form.get_by_role("textbox", name="Subject", exact=True).fill(subject)
        apply(page)
        append(page, notify, "end", "end")
        form = panel_form(page, "end")
        form.get_by_label("Name", exact=True).fill(outcome.capitalize())
        form.get_by_role("combobox", name="Outcome", exact=True).fill(outcome)
        apply(page)

    # The paths out of each decision: a condition, and the default.
    page.get_by_role("button", name="Fit to screen").click()
    click_flow(page, flow_between(page, within, auto))
    form = panel_form(page, "path")
    form.get_by_label("Value to look at").select_option("within_authority")
    form.get_by_label("Comparison").select_option("true")
    apply(page)
    click_flow(page, flow_between(page, within, manager))
    panel_form(page, "path").get_by_label("Default path").check()
    apply(page)
    click_flow(page, flow_between(page, approved, order))
    form = panel_form(page, "path")
    form.get_by_test_id("condition-mode").click()
    form.get_by_label("Condition (CEL)").fill('approval.outcome == "approved"')
    apply(page)
    click_flow(page, flow_between(page, approved, notices["rejected"]))
    panel_form(page, "path").get_by_label("Default path").check()
    apply(page)

    expect(page.get_by_test_id("problems")).to_contain_text("No problems")
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")
    screenshot(page, "drawn")
    # Published for the employees, from the publish dialog; then requested from the catalog.
    page.get_by_test_id("publish").click()
    dialog = page.get_by_test_id("publish-dialog")
    dialog.get_by_label("Only the groups and people chosen below").check()
    dialog.get_by_label("Employees", exact=True).check()
    page.get_by_test_id("confirm-publish").click()
    expect(page.get_by_test_id("published-banner")).to_contain_text("Version 1 is live")
    expect(page.get_by_test_id("published-where")).to_have_text(
        "Members of Employees now see Office purchase under New request: "
    )
    employee = login("employee")
    employee.get_by_role("navigation", name="Main").get_by_role("link", name="New request").click()
    employee.get_by_role("link", name="Start Office purchase").click()
    employee.get_by_label("Item").fill("Design laptop")
    employee.get_by_label("Amount").fill("5000")
    employee.get_by_label("Currency").select_option("USD")
    employee.get_by_role("button", name="Submit request").click()
    expect(employee.get_by_test_id("request-state")).to_have_text("Waiting for approval", timeout=30_000)
    expect(employee.get_by_test_id("state-detail")).to_contain_text("With Max Manager")
    screenshot(employee, "request-waits-for-the-manager")


def test_the_author_sets_a_text_fields_maximum_length_on_the_start_form(demo, login) -> None:
    page = login("admin")
    new_workflow(page, "Suggestion box")
    select(page, "StartEvent_1")
    form = panel_form(page, "start")
    add_rows(form, "Add a field", {"name, e.g. amount": "idea", "Label": "Your idea", "select:type": "text"})
    row = form.locator("[data-baton-row]").last
    row.get_by_text("Limits and default").click()
    row.get_by_placeholder("max characters").fill("300")
    apply(page)

    workflow = Workflow.objects.get(name="Suggestion box")
    wait_for(
        lambda: 'maxLength="300"' in (current_draft(workflow).bpmn_xml or ""),  # type: ignore[union-attr]
        what="the limit saved in the draft",
    )


def test_the_author_lists_what_a_starting_message_carries(demo, login, screenshot) -> None:
    page = login("admin")
    new_workflow(page, "Orders from the shop")
    select(page, "StartEvent_1")
    form = panel_form(page, "start")
    form.get_by_label("When a message arrives").check()
    expect(form.get_by_role("button", name="Add a field")).to_be_hidden()  # a message Start has no form
    form.get_by_label("Message name").fill("order_placed")
    add_rows(form, "Add a value", {"name, e.g. quantity": "quantity", "select:type": "integer"})
    form.locator("[data-baton-row]").last.get_by_label("Must be sent").check()
    apply(page)
    screenshot(page, "message-start-lists-what-the-message-carries")

    workflow = Workflow.objects.get(name="Orders from the shop")

    def carried() -> list[dict[str, str]]:
        start = Diagram.parse(current_draft(workflow).bpmn_xml).find("StartEvent_1")  # type: ignore[union-attr]
        return extension_items(start, "messageField") if start is not None else []

    wait_for(lambda: carried(), what="what the message carries saved in the draft")
    assert carried() == [{"name": "quantity", "type": "integer", "required": "true"}]


def test_a_scheduled_start_is_chosen_in_plain_words_and_says_when_it_runs(demo, login, screenshot) -> None:
    page = login("admin")
    new_workflow(page, "Weekly stock count")
    select(page, "StartEvent_1")
    form = panel_form(page, "start")
    form.get_by_label("On a schedule").check()
    preview = form.get_by_test_id("schedule-preview")
    form.get_by_label("Every few minutes, hours or days").check()
    form.get_by_role("spinbutton", name="Every", exact=True).fill("2")
    expect(preview).to_contain_text("Starts every 2 hours. Next, if published now:")
    form.get_by_label("On chosen days, at a time").check()
    form.get_by_label("Wed").uncheck()
    expect(preview).to_contain_text("Starts every Monday, Tuesday, Thursday and Friday at 09:00 UTC.")
    screenshot(page, "schedule")
    apply(page)

    workflow = Workflow.objects.get(name="Weekly stock count")
    wait_for(
        lambda: "0 9 * * 1,2,4,5</bpmn:timeCycle>" in (current_draft(workflow).bpmn_xml or ""),  # type: ignore[union-attr]
        what="the schedule saved in the draft",
    )


def test_an_analyst_gives_an_approval_a_three_day_deadline_and_runs_it_for_each_reviewer(
    demo, login, screenshot
) -> None:
    """From a blank diagram, in the panel's words only.

    After "New workflow": 18 clicks and 5 typed values (2 of them optional names) to publish; the
    deadline and the For each themselves are 4 of the clicks and one typed value ("3"), applied
    with the approval's own Apply.
    """
    page = login("admin")
    new_workflow(page, "Contract review")

    # Set data: the list of reviewers (clicks: 2 append, 1 add row, 1 apply; typed: name, variable, value)
    who = append(page, "StartEvent_1", "set-data", "set_data")
    form = panel_form(page, "set_data")
    form.get_by_label("Name", exact=True).fill("Who reviews")
    add_rows(form, "Add a value", {"name": "reviewers", "value": '["manager", "director"]'})
    apply(page)

    # The approval, once per reviewer, with a deadline (clicks: 2 append, 2 rule + group, 1 For each,
    # 1 list picker, 1 "one after another", 1 add, 1 apply; typed: name, 3)
    review = append(page, who, "approval", "approval")
    form = panel_form(page, "approval")
    form.get_by_label("Name", exact=True).fill("Legal review")
    form.get_by_label("A group's queue (anyone in it can claim)").check()
    form.get_by_label("Finance").check()
    for_each = form.get_by_test_id("for-each")
    for_each.get_by_label("Run this step once per item of a list").check()
    for_each.get_by_label("Insert a value into The list").select_option("reviewers")
    for_each.get_by_label("One after another").check()
    events = form.get_by_test_id("step-events")
    events.get_by_test_id("add-event").select_option("deadline")
    events.get_by_role("spinbutton", name="After", exact=True).fill("3")
    apply(page)
    listed = page.locator("#designer-panel").get_by_test_id("step-event-list")
    expect(listed).to_contain_text("Deadline After 3 days, stop waiting")
    deadline = page.evaluate(
        """(id) => window.batonModeler.get('elementRegistry').get(id).attachers.map((e) => e.id)""", review
    )
    assert len(deadline) == 1
    # bpmn-js draws the For each as three bars on the approval, and the deadline on its edge.
    expect(shape(page, review).locator(".djs-visual path").first).to_be_visible()
    expect(shape(page, deadline[0])).to_be_visible()
    screenshot(page, "approval-with-deadline-and-for-each")

    # The end of the normal path (clicks: 2)
    append(page, review, "end", "end")
    expect(page.get_by_test_id("problems")).to_contain_text("No problems")
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")

    # The deadline's own panel reads in the same words (a check, not counted)
    page.get_by_role("button", name="Fit to screen").click()
    select(page, deadline[0])
    form = panel_form(page, "boundary")
    expect(form.get_by_test_id("panel-kind")).to_have_text("Deadline")
    expect(form.get_by_role("spinbutton", name="After", exact=True)).to_have_value("3")
    screenshot(page, "deadline-panel")

    # Publish (clicks: 3, one of them saying who may start it)
    page.get_by_test_id("publish").click()
    page.get_by_label("Everyone who signs in to Baton").check()
    page.get_by_test_id("confirm-publish").click()
    expect(page.get_by_test_id("published-banner")).to_contain_text("Version 1 is live")
    # The demo ships its own Contract review (key contract-review): this one is the drawn one.
    drawn = Workflow.objects.exclude(key="contract-review").get(name="Contract review")
    version = drawn.versions.exclude(number=None).get()
    nodes = version.graph["nodes"]
    assert nodes[review]["loop"]["collection"] == "reviewers" and not nodes[review]["loop"]["parallel"]
    assert nodes[deadline[0]]["config"]["timer"] == {"kind": "duration", "text": "P3D"}
    assert nodes[review]["boundaries"] == deadline


# --- nothing typed in the side panel is lost, however the panel is left ---


def click_empty_canvas(page: Page) -> None:
    box = page.get_by_test_id("canvas").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 12)


def test_nothing_typed_in_the_panel_is_lost_on_any_way_of_leaving_it(demo, login, screenshot) -> None:
    page = login("admin")
    page.goto("/designer/purchase-approval/")
    canvas_ready(page)
    workflow = Workflow.objects.get(key="purchase-approval")
    panel = page.locator("#designer-panel")
    unsaved = panel.get_by_test_id("panel-unsaved")
    not_applied = panel.get_by_test_id("panel-not-applied")

    def in_draft(text: str) -> bool:
        draft = current_draft(workflow)
        return draft is not None and text in draft.bpmn_xml

    # Selecting another block applies what was typed (the Notify's name, subject and message).
    select(page, "Task_notify_rejection")
    form = panel_form(page, "notify")
    expect(unsaved).to_be_hidden()
    form.get_by_label("Name", exact=True).fill("Tell the requester")
    form.get_by_role("textbox", name="Subject", exact=True).fill("Sorry, {{item}} was not approved")
    form.get_by_role("textbox", name="Message", exact=True).fill("Ask your manager why.")
    expect(unsaved).to_be_visible()
    select(page, "Task_notify_requester")
    expect(panel_form(page, "notify")).to_have_attribute("data-element", "Task_notify_requester")
    expect(unsaved).to_be_hidden()
    wait_for(lambda: in_draft('name="Tell the requester"'), what="the name applied and saved")
    assert in_draft("was not approved") and in_draft("Ask your manager why.")

    # Clicking the empty canvas applies too, and shows the workflow's own settings.
    panel_form(page, "notify").get_by_label("Name", exact=True).fill("Tell the buyer")
    click_empty_canvas(page)
    panel_form(page, "process")
    wait_for(lambda: in_draft('name="Tell the buyer"'), what="the name applied on clicking the canvas")

    # Escape in the panel applies and stays on the block.
    select(page, "Task_notify_rejection")
    panel_form(page, "notify").get_by_label("Name", exact=True).fill("Rejection notice")
    page.keyboard.press("Escape")
    expect(panel.get_by_test_id("panel-applied")).to_be_visible()
    wait_for(lambda: in_draft('name="Rejection notice"'), what="the name applied on Escape")

    # An edit that cannot be applied is kept, marked, with the block still selected.
    form = panel_form(page, "notify")
    form.get_by_label("Name", exact=True).fill("Half done")
    form.get_by_role("textbox", name="Subject", exact=True).fill("")
    shape(page, "Task_manager_approval").click()
    expect(not_applied).to_be_visible()
    expect(not_applied).to_contain_text("Not applied yet — fix the highlighted field or discard")
    form = panel_form(page, "notify")
    expect(form).to_have_attribute("data-element", "Task_notify_rejection")
    expect(form.get_by_label("Name", exact=True)).to_have_value("Half done")
    expect(form.get_by_role("textbox", name="Subject", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(unsaved).to_be_visible()
    expect(shape(page, "Task_notify_rejection")).to_have_class(re.compile(r"\bselected\b"))
    expect(shape(page, "Task_manager_approval")).not_to_have_class(re.compile(r"\bselected\b"))
    screenshot(page, "not-applied-yet")
    assert not in_draft("Half done")
    # "Keep editing" puts the cursor in the field to fix; "Discard changes" goes on where the user was going.
    not_applied.get_by_role("button", name="Keep editing").click()
    expect(not_applied).to_be_hidden()
    expect(form.get_by_role("textbox", name="Subject", exact=True)).to_be_focused()
    shape(page, "Task_manager_approval").click()
    not_applied.get_by_role("button", name="Discard changes").click()
    expect(panel_form(page, "approval")).to_have_attribute("data-element", "Task_manager_approval")
    select(page, "Task_notify_rejection")
    form = panel_form(page, "notify")
    expect(form.get_by_label("Name", exact=True)).to_have_value("Rejection notice")
    expect(form.get_by_role("textbox", name="Subject", exact=True)).to_have_value(
        "Sorry, {{item}} was not approved"
    )
    expect(unsaved).to_be_hidden()

    # A server that refuses the Apply (signed out, an error) does not take what was typed either.
    page.route("**/panel/apply/", lambda route: route.fulfill(status=500, body="Server error"))
    form.get_by_label("Name", exact=True).fill("Typed while the server fails")
    shape(page, "Task_manager_approval").click()
    expect(panel.get_by_test_id("panel-apply-failed")).to_contain_text("error 500")
    expect(not_applied).to_be_visible()
    expect(panel_form(page, "notify").get_by_label("Name", exact=True)).to_have_value(
        "Typed while the server fails"
    )
    page.unroute("**/panel/apply/")
    not_applied.get_by_role("button", name="Discard changes").click()
    panel_form(page, "approval")
    select(page, "Task_notify_rejection")

    # Leaving the page: asked only while the panel has changes not applied.
    dialogs: list[str] = []

    def answer(dialog: Dialog) -> None:
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", answer)
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")
    page.reload()
    canvas_ready(page)
    assert dialogs == []
    select(page, "Task_notify_rejection")
    panel_form(page, "notify").get_by_label("Name", exact=True).fill("Typed, then the tab was reloaded")
    expect(unsaved).to_be_visible()
    page.reload()
    canvas_ready(page)
    assert dialogs == ["beforeunload"]
