"""The invoice triage demo in a real browser: an AI reads the invoice and advises, Finance decides."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from designer.diagram import Diagram, extension_items
from orchestration.definitions import current_draft
from orchestration.models import Connection, ProcessInstance, Workflow
from tests.browser.test_designer import add_rows, apply, canvas_ready, drop, panel_form, select
from tests.conftest import wait_for

INVOICE = (
    "From: Northwind Computers Ltd\nInvoice 2026-118\n3 x Laptop 14-inch @ 1,400.00\nTotal due: USD 4,200.00"
)


def _demo_ai_here(live_server: Any) -> None:
    # baton_demo points the connection at BATON_BASE_URL; the tests' server listens elsewhere.
    Connection.objects.filter(name="demo-ai").update(base_url=f"{live_server.url}/demo/ai/v1")
    Connection.objects.filter(name="demo-erp").update(base_url=f"{live_server.url}/demo/procurement")


def test_the_approver_sees_the_ais_recommendation_and_decides(demo, login, screenshot, live_server) -> None:
    _demo_ai_here(live_server)
    employee = login("employee")
    employee.get_by_role("navigation", name="Main").get_by_role("link", name="New request").click()
    employee.get_by_role("link", name="Start Invoice triage").click()
    employee.get_by_label("Invoice text (paste it here)").fill(INVOICE)
    employee.get_by_role("button", name="Submit request").click()
    expect(employee.get_by_test_id("request-state")).to_have_text("Waiting for approval", timeout=30_000)
    # The requester's page shows no AI conversation and no advice.
    expect(employee.get_by_test_id("ai-advice")).to_have_count(0)
    expect(employee.get_by_text("Please read the invoice")).to_have_count(0)
    expect(employee.get_by_test_id("request-data")).not_to_contain_text("Recommendation")
    expect(employee.get_by_test_id("request-data")).not_to_contain_text("IT hardware")
    screenshot(employee, "requester-page")

    cfo = login("cfo")
    cfo.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Inbox")).click()
    cfo.get_by_test_id("tab-queue").click()
    cfo.get_by_test_id("task-row").filter(has_text="Approve the invoice").get_by_role("link").first.click()
    advice = cfo.get_by_test_id("ai-advice")
    expect(advice).to_contain_text(
        "AI suggests: approve — The amount of 4,200.00 is typical for IT hardware."
    )
    expect(advice).to_contain_text("From “Read the invoice”")
    screenshot(cfo, "task-desktop")
    cfo.set_viewport_size({"width": 390, "height": 844})
    expect(advice).to_be_visible()
    screenshot(cfo, "task-phone")
    cfo.set_viewport_size({"width": 1360, "height": 900})
    cfo.get_by_label("Comment").fill("Agreed")
    cfo.get_by_role("button", name="Approve").click()
    expect(cfo.get_by_test_id("decided")).to_contain_text("Approved by you")

    employee.reload()
    expect(employee.get_by_test_id("request-state")).to_have_text(re.compile("Approved"), timeout=30_000)

    # Finance operates the workflow: its request page in the operations console holds the conversation.
    instance = ProcessInstance.objects.get(workflow__key="invoice-triage")
    cfo.goto(f"/operations/requests/{instance.id}/")
    step = cfo.get_by_test_id("step").filter(has_text="Read the invoice")
    # The vendor lookup the AI made is a sub-step in plain words, outside the details.
    expect(step.get_by_test_id("tool-calls")).to_contain_text(
        re.compile(r"Look up vendor in the ERP — \d+ ms")
    )
    step.get_by_text("What went in and came out").click()
    output = step.get_by_test_id("step-output")
    expect(output).to_contain_text("Please read the invoice below")
    expect(output).to_contain_text('"total": ')
    expect(output).not_to_contain_text("hidden")
    expect(cfo.locator('[data-element-id="Task_read_invoice"] [data-testid="ai-mark"]')).to_have_count(1)
    expect(step).to_contain_text("Ask AI")  # what kind of step it is, in its words
    step.scroll_into_view_if_needed()
    screenshot(cfo, "operations")


def test_ask_ai_from_the_palette_opens_its_own_panel(demo, login, screenshot) -> None:
    page = login("admin")
    page.goto("/designer/invoice-triage/")
    canvas_ready(page)
    expect(page.locator(".djs-palette").get_by_text("Ask AI", exact=True)).to_be_visible()
    # An Ask AI step is drawn with its own mark, unlike the other steps.
    expect(page.locator('[data-element-id="Task_read_invoice"] [data-testid="ai-mark"]')).to_have_count(1)
    expect(page.get_by_test_id("ai-mark")).to_have_count(1)
    select(page, "Task_read_invoice")
    # The block before one can append it from its context pad, as it appends an Approval.
    expect(page.locator('.djs-context-pad [data-action="append.baton-ask_ai"]')).to_have_attribute(
        "title", "Add Ask AI after this"
    )
    form = panel_form(page, "ask_ai")
    expect(form.get_by_label("Model server")).to_have_value("demo-ai")
    expect(form.get_by_role("textbox", name="Instruction")).to_have_value(
        re.compile(r"\{\{invoice_text\}\}$")
    )
    expect(form.locator("[data-baton-rows=answers] [data-baton-row]")).to_have_count(5)
    tool = form.get_by_test_id("tool-row")
    expect(tool.get_by_label("Tool", exact=True)).to_have_value("procurement.look_up_vendor")
    expect(tool.get_by_label("System", exact=True)).to_have_value("demo-erp")
    form.get_by_text("Details").click()
    expect(form.get_by_label("Most tool calls")).to_be_visible()
    screenshot(page, "panel-desktop")

    drop(page, "Ask AI", 420, 480)
    expect(page.get_by_test_id("ai-mark")).to_have_count(2)  # a new one has it from the start
    new = panel_form(page, "ask_ai")
    expect(new.get_by_label("Model server")).to_have_value("")
    new.get_by_label("Name", exact=True).fill("Greet")
    new.get_by_label("Model server").select_option("demo-ai")
    instruction = new.get_by_role("textbox", name="Instruction")
    instruction.fill("Write a one-line greeting for ")
    new.get_by_label("Insert a value into Instruction").select_option("initiator")
    expect(instruction).to_have_value("Write a one-line greeting for {{initiator}}")
    instruction.press("End")
    instruction.type(".")
    add_rows(
        new,
        "Add an answer field",
        {"name, e.g. category": "greeting", "What it is, for the AI": "The greeting"},
    )
    new.get_by_role("button", name="Add a tool").click()
    new.get_by_test_id("tool-row").get_by_label("Tool", exact=True).select_option(
        label="Look up vendor in the ERP"
    )
    screenshot(page, "new-block-desktop")
    apply(page)
    workflow = Workflow.objects.get(key="invoice-triage")

    def saved() -> bool:
        draft = current_draft(workflow)
        return draft is not None and 'name="greeting"' in draft.bpmn_xml

    wait_for(saved, timeout=15, what="the new Ask AI block in the saved draft")
    draft = current_draft(workflow)
    assert draft is not None
    element = next(e for e in Diagram.parse(draft.bpmn_xml).root.iter() if e.get("name") == "Greet")
    assert element.get("{http://baton.dev/schema/bpmn/1.0}connector") == "ai.ask"
    assert extension_items(element, "answerField") == [
        {"name": "greeting", "type": "string", "description": "The greeting"}
    ]
    assert extension_items(element, "input") == [{"name": "initiator", "expression": "initiator"}]
    assert extension_items(element, "tool") == [{"action": "procurement.look_up_vendor"}]
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "panel-phone")
