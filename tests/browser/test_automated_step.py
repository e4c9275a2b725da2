"""An analyst sets up an Automated step with the mouse: a preset, start-form fields for its inputs, no expressions."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from orchestration.definitions import create_workflow, current_draft
from orchestration.engine import start_instance
from orchestration.models import ProcessInstance, Workflow
from tests import bpmn
from tests.browser.test_designer import apply, canvas_ready, connect, panel_form, select
from tests.conftest import wait_for, wait_until_completed

# Start form and End, not yet connected: the analyst puts the step in between.
DRAFT = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{bpmn.BPMN}" xmlns:baton="{bpmn.BATON}"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  id="Definitions_1" targetNamespace="http://baton.dev/workflows">
  <bpmn:process id="Process_laptops" name="Laptop orders" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="Purchase request"><bpmn:extensionElements>
      {bpmn.field("item", required=True)}{bpmn.field("amount", "number", required=True)}
      {bpmn.field("currency", required=True)}
    </bpmn:extensionElements></bpmn:startEvent>
    <bpmn:endEvent id="EndEvent_1" name="Ordered" baton:outcome="ordered" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Process_laptops">
      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1">
        <dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="EndEvent_1_di" bpmnElement="EndEvent_1">
        <dc:Bounds x="560" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def test_an_analyst_sets_up_create_order_by_picking_form_fields_and_the_saved_diagram_runs(
    demo, login, screenshot
) -> None:
    admin = get_user_model().objects.get(username="admin")
    create_workflow("laptops", "Laptop orders", DRAFT, owner=admin)
    page = login("admin")
    page.goto("/designer/laptops/")
    canvas_ready(page)

    select(page, "StartEvent_1")
    page.locator('.djs-context-pad [data-action="append.baton-automated"]').click()
    page.keyboard.press("Escape")
    form = panel_form(page, "automated")
    step = form.get_attribute("data-element")
    assert step and step != "StartEvent_1"

    form.get_by_label("What should this step do?").select_option(label="Create order in ERP")
    inputs = form.get_by_test_id("action-preset-erp-create-order").get_by_test_id("step-input")
    expect(inputs).to_have_count(5)
    amount = form.get_by_role("combobox", name="Amount (required)")
    # Only numbers are offered for an amount, named by their form labels.
    assert amount.locator("optgroup option").all_inner_texts() == ["Amount (number)"]
    amount.select_option(label="Amount (number)")
    form.get_by_role("combobox", name="What to buy (required)").select_option(label="Item (text)")
    form.get_by_role("combobox", name="Currency (required)").select_option(label="Currency (text)")
    form.get_by_role("combobox", name="Ordered for (required)").select_option(
        label="Who started it (username) (text)"
    )
    expect(form.get_by_test_id("step-output").first).to_contain_text("Order number")
    screenshot(page, "panel-desktop")
    apply(page)
    expect(panel_form(page, "automated").get_by_role("heading", name="Create order in ERP")).to_be_visible()

    connect(page, step, "EndEvent_1")
    expect(page.get_by_test_id("problems")).to_contain_text("No problems")
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")

    workflow = Workflow.objects.get(key="laptops")
    saved = wait_for(
        lambda: (d := current_draft(workflow)) and 'baton:preset="erp.create_order"' in d.bpmn_xml and d,
        what="the step saved in the draft",
    )
    assert 'expression="amount"' in saved.bpmn_xml and 'expression="result.order_id"' in saved.bpmn_xml

    page.get_by_test_id("publish").click()
    dialog = page.get_by_test_id("publish-dialog")
    dialog.get_by_label("Only the groups and people chosen below").check()
    dialog.get_by_label("Employees", exact=True).check()
    page.get_by_test_id("confirm-publish").click()
    expect(page.get_by_test_id("published-banner")).to_contain_text("Version 1 is live")
    workflow.refresh_from_db()
    instance = start_instance(
        workflow.published_version,  # type: ignore[arg-type]
        {"item": "Laptop", "amount": 1450, "currency": "EUR"},
        initiator=admin,
    )
    wait_until_completed([instance])
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "ordered"
    assert re.fullmatch(r"\S+", str(instance.variables["order_id"]))


# Layout only: the panel's fields and what they write are tested on both backends in the test above and
# tests/designer/test_automated_step.py.
@pytest.mark.backend_neutral
def test_the_automated_step_panel_fits_a_phone(demo, login, screenshot) -> None:
    page = login("admin")
    page.goto("/designer/purchase-approval/")
    canvas_ready(page)
    select(page, "Task_place_order")  # on a wide screen: on a phone the panel covers the canvas
    form = panel_form(page, "automated")
    form.get_by_label("What should this step do?").select_option(label="Create ticket")
    ticket = form.get_by_test_id("action-preset-tickets-create")
    expect(ticket.get_by_label("System", exact=True)).to_be_visible()
    expect(ticket.get_by_test_id("step-output")).to_contain_text("Ticket number")
    screenshot(page, "ticket-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    form.get_by_label("What should this step do?").select_option(label="Place procurement order")
    expect(form.get_by_test_id("action-procurement-create-order")).to_be_visible()
    screenshot(page, "panel-phone")
    # The HTTP request's business face: a system, a path, what to do; the raw settings folded away.
    form.get_by_label("What should this step do?").select_option(label="HTTP request")
    http = form.get_by_test_id("action-http-request")
    expect(http.get_by_label("System", exact=True)).to_be_visible()
    expect(http.get_by_label("Headers", exact=True)).to_be_hidden()
    http.get_by_text("Advanced", exact=True).click()
    expect(http.get_by_label("Headers", exact=True)).to_be_visible()
    screenshot(page, "http-phone")
