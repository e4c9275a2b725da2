"""Publishing in a real browser asks who may start requests; the banner says where; others get a friendly refusal."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from orchestration.definitions import create_workflow
from tests.conftest import ROOT

# A diagram with its drawing (the canvas needs one), as Camunda Modeler saves it.
INVOICE = (ROOT / "tests" / "orchestration" / "bpmn_files" / "camunda_invoice.bpmn").read_text()


def test_publishing_for_finance_says_where_finance_finds_it_and_a_clerk_may_not_open_the_designer(
    demo, login, screenshot
) -> None:
    admin = get_user_model().objects.get(username="admin")
    create_workflow("laptop-request", "Laptop request", INVOICE, owner=admin)

    page = login("admin")
    page.goto("/designer/laptop-request/")
    expect(page.get_by_test_id("canvas")).to_have_attribute("data-ready", "true")
    page.get_by_test_id("publish").click()
    dialog = page.get_by_test_id("publish-dialog")
    expect(dialog.get_by_role("heading", name="Publish Laptop request?")).to_be_visible()
    dialog.get_by_label("Only the groups and people chosen below").check()
    dialog.get_by_label("Finance", exact=True).check()
    screenshot(page, "publish-dialog")
    page.get_by_test_id("confirm-publish").click()

    expect(dialog).to_be_hidden()
    expect(page.locator(".modal-backdrop")).to_have_count(0)  # faded out before the screenshot
    banner = page.get_by_test_id("published-banner")
    expect(banner).to_contain_text("Version 1 is live.")
    expect(page.get_by_test_id("published-where")).to_have_text(
        "Members of Finance now see Laptop request under New request: "
    )
    catalog = banner.get_by_role("link", name="/requests/new/")
    expect(catalog).to_have_attribute("href", f"{page.url.split('/designer/')[0]}/requests/new/")
    screenshot(page, "published-banner")

    clerk = login("cfo")  # in Finance: may request it now, not design it
    catalog_page = clerk.goto("/requests/new/")
    assert catalog_page is not None
    expect(clerk.get_by_test_id("catalog")).to_contain_text("Laptop request")
    answer = clerk.goto("/designer/laptop-request/")
    assert answer is not None and answer.status == 403
    refusal = clerk.get_by_test_id("forbidden")
    expect(refusal).to_contain_text("This page is the designer of Laptop request, where its steps are drawn")
    expect(refusal).to_contain_text("Laptop request is shared with you, but not as “Can design”")
    expect(refusal).to_contain_text("Ask admin (its owner) to share Laptop request with you as “Can design”")
    expect(clerk.get_by_role("navigation", name="Main")).to_be_visible()
    screenshot(clerk, "refused-designer")
