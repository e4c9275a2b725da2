"""An analyst builds the purchase approval from a blank canvas with the mouse and the panel, and it runs.

No XML and no expressions: names, labels and plain values (500, USD) are typed; everything else is
picked. Every action of the people involved (a click, a drag, a named key, a field filled) goes
through :class:`Actions`, which counts them; the whole story — build, publish, request, approve —
must take at most ``MOST_ACTIONS`` (Baton issue 11).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from approvals.models import ApprovalTask
from orchestration.models import ProcessInstance, Workflow
from tests.browser.test_designer import canvas_ready, flow_between, panel_form, shape
from tests.conftest import wait_for

# The designer's canvas and panel are the page's scripts; saving and publishing are tested on both
# backends in tests/designer/, and the purchase approval's run on the worker in test_showcase.py and
# tests/orchestration/test_api_showcase.py.
pytestmark = pytest.mark.backend_neutral

MOST_ACTIONS = 60


class Actions:
    """The few ways a person acts on a page, each counted once (a field filled is one action)."""

    def __init__(self) -> None:
        self.count = 0
        self.by_phase: dict[str, int] = {}
        self.phase = ""

    def _one(self) -> None:
        self.count += 1
        self.by_phase[self.phase] = self.by_phase.get(self.phase, 0) + 1

    def click(self, target: Locator) -> None:
        self._one()
        target.click()

    def click_at(self, page: Page, x: float, y: float) -> None:
        self._one()
        page.mouse.click(x, y)

    def fill(self, target: Locator, text: str) -> None:
        self._one()
        target.fill(text)

    def check(self, target: Locator) -> None:
        self._one()
        target.check()

    def pick(self, target: Locator, value: str | None = None, *, label: str | None = None) -> None:
        self._one()
        if label is not None:
            target.select_option(label=label)
        else:
            target.select_option(value)

    def press(self, page: Page, key: str) -> None:
        self._one()
        page.keyboard.press(key)


def _select(act: Actions, page: Page, element_id: str) -> None:
    block = shape(page, element_id)
    if "selected" not in (block.get_attribute("class") or "").split():
        act.click(block)
    expect(block).to_have_class(re.compile(r"\bselected\b"))
    # What was typed in the panel before is applied first: then this block's own panel shows.
    expect(page.locator("#designer-panel [data-testid=designer-panel-form]")).to_have_attribute(
        "data-element", element_id
    )


def _append(act: Actions, page: Page, source: str, block: str, kind: str) -> str:
    """From ``source``'s context pad, append ``block``; the new block's id (its panel is open)."""
    _select(act, page, source)
    act.click(page.locator(f'.djs-context-pad [data-action="append.baton-{block}"]'))
    form = panel_form(page, kind)
    expect(form).not_to_have_attribute("data-element", source)
    element = form.get_attribute("data-element")
    assert element and element != source
    return element


def _connect(act: Actions, page: Page, source: str, target: str) -> None:
    _select(act, page, source)
    act.click(page.locator('.djs-context-pad [data-action="connect"]'))
    act.click(shape(page, target))
    expect(page.locator(".djs-connection.selected")).to_have_count(1)


def _applied(page: Page) -> None:
    """Wait until the panel applied the last change and the draft is saved (nothing to do for the person)."""
    expect(page.locator("#designer-panel").get_by_test_id("panel-unsaved")).to_be_hidden()
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")


def _add_field(act: Actions, form: Locator, name: str, label: str, kind: str = "", **extra: str) -> None:
    section = form.locator("[data-baton-rows]", has=form.page.get_by_role("button", name="Add a field"))
    act.click(section.get_by_role("button", name="Add a field"))
    row = section.locator("[data-baton-row]").last
    act.fill(row.get_by_placeholder("name, e.g. amount", exact=True), name)
    act.fill(row.get_by_placeholder("Label", exact=True), label)
    if kind:
        act.pick(row.locator('select[name$="-type"]'), kind)
    if "choices" in extra:
        act.fill(row.get_by_placeholder("Choices: USD, EUR, GBP", exact=True), extra["choices"])
    if extra.get("required"):
        act.check(row.get_by_label("Required"))


def test_an_analyst_builds_the_purchase_approval_from_a_blank_canvas_in_at_most_60_actions(
    demo, login, screenshot
) -> None:
    act = Actions()
    page = login("admin")

    act.phase = "build"
    act.click(page.get_by_role("navigation", name="Main").get_by_role("link", name="Designer"))
    act.click(page.get_by_test_id("new-workflow"))
    act.fill(page.get_by_label("Name"), "Office purchase")
    act.click(page.get_by_role("button", name="Create and open designer"))
    canvas_ready(page)

    # The request form: item, amount with its currency, justification.
    _select(act, page, "StartEvent_1")
    form = panel_form(page, "start")
    _add_field(act, form, "item", "Item", required="1")
    _add_field(act, form, "amount", "Amount", "money", required="1")
    _add_field(act, form, "currency", "Currency", "choice", choices="USD, EUR, GBP", required="1")
    _add_field(act, form, "justification", "Justification", "text")

    # Check signature authority: named after what it does; its inputs already picked from the form.
    check = _append(act, page, "StartEvent_1", "automated", "automated")
    form = panel_form(page, "automated")
    act.pick(form.get_by_label("What should this step do?"), label="Check signature authority")
    authority = form.get_by_test_id("action-approvals-check-authority")
    for needed, value in (("Amount", "amount"), ("Currency", "currency"), ("Who signs", "initiator")):
        expect(authority.get_by_role("combobox", name=f"{needed} (required)")).to_have_value(value)

    # A Decision on its answer, then the approval up the authority chain.
    within = _append(act, page, check, "decision", "decision")
    approval = _append(act, page, within, "approval", "approval")
    form = panel_form(page, "approval")
    act.fill(form.get_by_label("Name", exact=True), "Manager approval")
    chain = "Up the management chain until someone's signature limit covers the amount"
    expect(form.get_by_label(chain)).to_be_checked()  # the form has an amount

    # Approved: the order, a note to the requester, the approved End.
    order = _append(act, page, approval, "automated", "automated")
    form = panel_form(page, "automated")
    act.pick(form.get_by_label("What should this step do?"), label="Create order in ERP")
    erp = form.get_by_test_id("action-preset-erp-create-order")
    for needed, value in (
        ("What to buy", "item"),
        ("Amount", "amount"),
        ("Currency", "currency"),
        ("Ordered for", "initiator"),
    ):
        expect(erp.get_by_role("combobox", name=f"{needed} (required)")).to_have_value(value)
    notify = _append(act, page, order, "notify", "notify")
    form = panel_form(page, "notify")
    act.fill(form.get_by_label("Name", exact=True), "Notify requester")
    expect(form.get_by_role("textbox", name="To", exact=True)).to_have_value("{{initiator}}")
    act.fill(form.get_by_role("textbox", name="Subject", exact=True), "Your purchase was ordered")
    end = _append(act, page, notify, "end", "end")
    form = panel_form(page, "end")
    act.fill(form.get_by_label("Name", exact=True), "Approved")  # its outcome follows

    # Rejected: a path of its own, added from the approval's panel.
    _select(act, page, approval)
    after = panel_form(page, "approval").get_by_test_id("approval-after")
    act.click(after.get_by_test_id("add-path-rejected"))
    rejected = (
        panel_form(page, "approval").get_by_test_id("approval-after").locator("[data-outcome=rejected]")
    )
    expect(rejected).to_contain_text("Rejected")
    _applied(page)

    # Within their limit: straight to the order (the new path's panel opens). Otherwise: the approval.
    _connect(act, page, within, order)
    form = panel_form(page, "path")
    expect(form).to_have_attribute("data-element", flow_between(page, within, order))
    act.pick(form.get_by_label("Value to look at"), "covered")  # "is yes"; the other path: otherwise
    act.click(form.get_by_role("button", name="Apply"))
    expect(page.locator("#designer-panel").get_by_test_id("panel-applied")).to_be_visible()
    page.wait_for_function(
        """([gateway, flow]) => (window.batonModeler.get('elementRegistry').get(gateway)
             .businessObject.default || {}).id === flow""",
        arg=[within, flow_between(page, within, approval)],
    )
    tidy = page.get_by_role("button", name="Tidy up")
    act.click(tidy)
    expect(tidy).to_be_enabled()  # laid out
    _applied(page)
    expect(page.locator("#designer-panel").get_by_test_id("panel-applied")).to_be_visible()
    page.wait_for_function(
        """([gateway, flow]) => (window.batonModeler.get('elementRegistry').get(gateway)
             .businessObject.default || {}).id === flow""",
        arg=[within, flow_between(page, within, approval)],
    )
    _applied(page)

    expect(page.get_by_test_id("problems")).to_contain_text("No problems")
    screenshot(page, "built")

    # Published for the employees (the dialog asks who may start it).
    act.phase = "publish"
    act.click(page.get_by_test_id("publish"))
    dialog = page.get_by_test_id("publish-dialog")
    act.check(dialog.get_by_label("Only the groups and people chosen below"))
    act.check(dialog.get_by_label("Employees", exact=True))
    act.click(page.get_by_test_id("confirm-publish"))
    expect(page.get_by_test_id("published-banner")).to_contain_text("Version 1 is live")

    # The employee asks for more than their own limit (USD 500) from the catalog.
    act.phase = "request"
    employee = login("employee")
    act.click(employee.get_by_role("navigation", name="Main").get_by_role("link", name="New request"))
    act.click(employee.get_by_role("link", name="Start Office purchase"))
    act.fill(employee.get_by_label("Item"), "Design laptop")
    act.fill(employee.get_by_label("Amount"), "1500")
    act.pick(employee.get_by_label("Currency"), "USD")
    act.fill(employee.get_by_label("Justification"), "For the new designer")
    act.click(employee.get_by_role("button", name="Submit request"))
    expect(employee.get_by_test_id("request-state")).to_have_text("Waiting for approval", timeout=30_000)
    expect(employee.get_by_test_id("state-detail")).to_contain_text("With Max Manager")

    # The manager's limit (USD 2,000) covers it: one approval from the inbox.
    act.phase = "approve"
    manager = login("manager")
    act.click(manager.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Inbox")))
    act.click(manager.get_by_role("link", name="Design laptop"))
    act.click(manager.get_by_test_id("decision").get_by_role("button", name="Approve"))
    expect(manager.get_by_test_id("decided")).to_contain_text("Approved by you")

    expect(employee.get_by_test_id("request-state")).to_have_text("Approved", timeout=30_000)
    expect(employee.get_by_test_id("request-data")).to_contain_text("PO-")
    screenshot(employee, "approved")
    instance = ProcessInstance.objects.get(workflow=Workflow.objects.get(name="Office purchase"))
    wait_for(
        lambda: ProcessInstance.objects.filter(
            pk=instance.pk, status=ProcessInstance.Status.COMPLETED
        ).exists(),
        what="the request to finish",
    )
    instance.refresh_from_db()
    assert instance.outcome == "approved"
    assert list(instance.steps.filter(kind="end").values_list("node_id", flat=True)) == [end]
    assert instance.variables["order_id"].startswith("PO-")
    assert [t.assignee.username for t in ApprovalTask.objects.filter(instance=instance)] == ["manager"]

    print(f"\nActions: {act.count} ({', '.join(f'{k} {v}' for k, v in act.by_phase.items())})")
    assert act.count <= MOST_ACTIONS, act.by_phase
