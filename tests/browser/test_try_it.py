"""Try it in the designer: a test run decided in the panel with the path lit on the canvas, and a replay."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from orchestration.definitions import save_draft
from orchestration.engine import start_instance
from orchestration.models import Outbox, ProcessInstance, Step, Workflow
from tests.browser.test_designer import canvas_ready, shape
from tests.conftest import wait_for

pytestmark = pytest.mark.backend_neutral

VISITED = re.compile(r"\bbaton-visited\b")
CURRENT = re.compile(r"\bbaton-current\b")


def open_try_it(page: Page) -> None:
    page.goto("/designer/purchase-approval/")
    canvas_ready(page)
    page.get_by_test_id("try-it").click()
    expect(page.get_by_test_id("try-panel")).to_be_visible()


def question(page: Page, name: str):
    card = page.get_by_test_id("try-question").filter(has_text=name)
    expect(card).to_be_visible()
    return card


def test_a_test_run_is_decided_in_the_panel_lights_the_path_and_reaches_the_end(
    demo, login, screenshot
) -> None:
    instances = ProcessInstance.objects.count()
    page = login("admin")
    open_try_it(page)
    panel = page.get_by_test_id("try-panel")
    panel.get_by_label("Item").fill("Laptop")
    panel.get_by_label("Amount").fill("1500")
    panel.get_by_test_id("try-start-run").click()

    # The authority check is answered with a sample: not covered, so the manager decides.
    check = question(page, "Check signature authority")
    expect(shape(page, "Task_check_authority")).to_have_class(CURRENT)
    expect(shape(page, "StartEvent_request")).to_have_class(VISITED)
    # The answer's values by name (their labels come from the connector when it declares them).
    check.locator('[name="output:covered"]').fill("false")
    check.locator('[name="output:limit"]').fill("500")
    screenshot(page, "sample-answer")
    check.get_by_test_id("try-use-answer").click()

    approval = question(page, "Manager approval")
    expect(shape(page, "Task_manager_approval")).to_have_class(CURRENT)
    expect(shape(page, "Task_auto_approve")).not_to_have_class(VISITED)
    # Sent back: the requester's form, filled with the request, to change and resubmit.
    approval.get_by_label("Comment").fill("A cheaper one")
    approval.get_by_role("button", name="Request changes").click()
    resubmit = page.get_by_test_id("try-question").filter(has=page.get_by_test_id("try-resubmit-form"))
    expect(resubmit.get_by_label("Amount")).to_have_value("1500.00")  # money, as the requester sees it
    expect(page.get_by_test_id("try-steps")).to_contain_text(
        "changes requested by you (test) — A cheaper one: sent back to the requester"
    )
    resubmit.get_by_label("Amount").fill("1200")
    screenshot(page, "resubmit")
    resubmit.get_by_test_id("try-resubmit").click()

    approval = page.get_by_test_id("try-question").filter(has=page.get_by_test_id("try-approve"))
    expect(approval).to_contain_text("Manager approval")
    approval.get_by_label("Comment").fill("Within budget")
    screenshot(page, "decide")
    approval.get_by_test_id("try-approve").click()
    expect(page.get_by_test_id("try-steps")).to_contain_text("approved by you (test) — Within budget")

    question(page, "Place order").get_by_test_id("try-use-answer").click()
    question(page, "Notify requester").get_by_test_id("try-use-answer").click()

    expect(page.get_by_test_id("try-finished")).to_contain_text("reached the end: approved")
    for block in ("Task_manager_approval", "Task_place_order", "EndEvent_approved"):
        expect(shape(page, block)).to_have_class(VISITED)
    expect(shape(page, "Task_notify_rejection")).not_to_have_class(VISITED)
    expect(page.get_by_test_id("try-steps")).to_contain_text("the message was not sent (test run)")
    screenshot(page, "finished")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "finished-phone")

    # Start again clears the path; nothing was kept.
    page.get_by_test_id("try-again").click()
    expect(page.get_by_test_id("try-start")).to_be_visible()
    expect(panel.get_by_label("Item")).to_have_value("Laptop")  # the last sample data, to change
    expect(shape(page, "Task_manager_approval")).not_to_have_class(VISITED)
    assert ProcessInstance.objects.count() == instances


def published_with_requests() -> Workflow:
    """The demo's purchase approval with three requests past the authority check, and a draft that
    auto-approves only below 200 (the desk lamp would now need the manager)."""
    workflow = Workflow.objects.get(key="purchase-approval")
    employee = get_user_model().objects.get(username="employee")
    started = [
        start_instance(
            workflow.published_version,  # type: ignore[arg-type]
            {"item": item, "amount": amount, "currency": "USD"},
            initiator=employee,
            trigger="manual",
        )
        for item, amount in [("Stapler", 100), ("Desk lamp", 300), ("Monitor", 800)]
    ]
    for instance in started:
        wait_for(
            lambda i=instance: Step.objects.filter(instance=i, node_id="Gateway_within_authority").exists(),
            what="the authority check to be answered",
        )
    wait_for(lambda: not Outbox.objects.exists(), what="the requests' work to be delivered")
    xml = workflow.published_version.bpmn_xml.replace(  # type: ignore[union-attr]
        ">within_authority<", ">within_authority &amp;&amp; amount &lt; 200.0<"
    )
    save_draft(workflow, xml)
    return workflow


def test_replay_shows_which_recent_requests_a_change_moves(demo, login, screenshot) -> None:
    published_with_requests()
    page = login("admin")
    open_try_it(page)
    page.get_by_test_id("try-tab-replay").click()
    page.get_by_test_id("try-replay-run").click()

    groups = page.get_by_test_id("replay-group")
    expect(groups.first).to_contain_text(
        "1 of 3 requests would now go to Manager approval instead of Auto-approve"
    )
    expect(groups.nth(1)).to_contain_text("2 of 3 requests take the same path")
    groups.first.locator("summary").click()
    expect(groups.first).to_contain_text("Desk lamp")
    expect(shape(page, "Task_manager_approval")).to_have_class(CURRENT)
    screenshot(page, "replay")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "replay-phone")
