"""The README's walkthrough: a process from a template, tried in the designer, then published."""

from __future__ import annotations

from playwright.sync_api import expect

from orchestration.models import ProcessInstance, Workflow
from tests.browser.test_designer import canvas_ready


def test_a_leave_request_from_a_template_is_tried_and_published_as_the_readme_says(
    demo, login, screenshot
) -> None:
    page = login("admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Designer").click()
    page.get_by_test_id("new-workflow").click()
    page.locator("label[for=starter-leave-request]").click()
    page.get_by_label("Name").fill("Team leave")
    screenshot(page, "1-new-workflow")
    page.get_by_role("button", name="Create and open designer").click()
    canvas_ready(page)
    expect(page.get_by_test_id("problems")).to_contain_text("No problems")
    screenshot(page, "2-designer")

    instances = ProcessInstance.objects.count()
    page.get_by_test_id("try-it").click()
    panel = page.get_by_test_id("try-panel")
    panel.get_by_label("First day").fill("2027-03-01")
    panel.get_by_label("Last day").fill("2027-03-05")
    screenshot(page, "3-try-it")
    panel.get_by_test_id("try-start-run").click()
    approval = page.get_by_test_id("try-question").filter(has_text="Manager approval")
    approval.get_by_test_id("try-approve").click()
    page.get_by_test_id("try-question").filter(has_text="Confirm the leave").get_by_test_id(
        "try-use-answer"
    ).click()
    expect(page.get_by_test_id("try-finished")).to_contain_text("reached the end: approved")
    expect(page.get_by_test_id("try-steps")).to_contain_text("the message was not sent (test run)")
    screenshot(page, "4-test-run-finished")
    assert ProcessInstance.objects.count() == instances  # a test run keeps nothing

    panel.get_by_role("button", name="Close").click()
    expect(panel).to_be_hidden()
    page.get_by_test_id("publish").click()
    dialog = page.get_by_test_id("publish-dialog")
    dialog.get_by_label("Everyone who signs in to Baton").check()
    screenshot(page, "5-publish")
    page.get_by_test_id("confirm-publish").click()
    expect(page.get_by_test_id("published-banner")).to_contain_text("Version 1 is live")
    expect(dialog).to_be_hidden()
    screenshot(page, "6-published")
    assert Workflow.objects.get(name="Team leave").published_version is not None
