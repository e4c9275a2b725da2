"""The inbox in a browser: find a request by its number, save the filters as a view, export them as CSV."""

from __future__ import annotations

import csv
import io
import re

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from approvals.models import ApprovalTask, SavedInboxView
from orchestration.engine import start_instance
from orchestration.models import Workflow
from tests.conftest import wait_for


def test_search_by_request_number_save_the_view_and_export_it(demo, login, screenshot):
    version = Workflow.objects.get(key="purchase-approval").published_version
    employee = get_user_model().objects.get(username="employee")
    started = [
        start_instance(version, {"item": item, "amount": amount, "currency": "USD"}, initiator=employee)
        for item, amount in [("Laptop", "1500"), ("Desk chair", "900"), ("Monitor", "700")]
    ]
    wait_for(lambda: ApprovalTask.objects.filter(status="open").count() == 3, what="three approval tasks")
    chair = started[1]
    page = login("manager")
    page.goto("/inbox/")
    rows = page.get_by_test_id("task-row")
    expect(rows).to_have_count(3)
    for instance in started:
        expect(page.get_by_text(instance.reference)).to_be_visible()
    screenshot(page, "inbox-desktop")

    page.get_by_placeholder("Search or number…").fill(chair.reference)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Desk chair")
    expect(rows.first).to_contain_text(chair.reference)
    expect(page).to_have_url(re.compile(rf"q={chair.reference}"))

    page.get_by_test_id("view-name").fill("The chair")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_text("Saved the view “The chair”.")).to_be_visible()
    expect(rows).to_have_count(1)
    view = SavedInboxView.objects.get(user__username="manager")
    assert f"q={chair.reference}" in view.query

    page.goto("/inbox/")
    expect(rows).to_have_count(3)
    page.get_by_test_id("saved-views").get_by_role("link", name="The chair").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_placeholder("Search or number…")).to_have_value(chair.reference)

    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    download = download_info.value
    assert download.suggested_filename.startswith("inbox-mine-") and download.suggested_filename.endswith(
        ".csv"
    )
    rows_in_file = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert [(r["Request number"], r["Title"], r["Amount"], r["Currency"]) for r in rows_in_file] == [
        (chair.reference, "Desk chair", "900.00", "USD")
    ]
    assert rows_in_file[0]["Requester"] == "Emma Employee" and rows_in_file[0]["Status"] == "Waiting for you"

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/inbox/")
    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("saved-views")).to_be_visible()
    screenshot(page, "inbox-phone")

    page.set_viewport_size({"width": 1360, "height": 900})
    page.once("dialog", lambda dialog: dialog.accept())  # "Delete the view …?"
    page.get_by_test_id("saved-view").get_by_role("button", name="Delete the view The chair").click()
    expect(page.get_by_text("Deleted the view “The chair”.")).to_be_visible()
    assert not SavedInboxView.objects.exists()


def test_the_request_page_and_my_requests_show_and_find_the_number(demo, login, screenshot):
    version = Workflow.objects.get(key="purchase-approval").published_version
    employee = get_user_model().objects.get(username="employee")
    laptop = start_instance(
        version, {"item": "Laptop", "amount": "5000", "currency": "USD"}, initiator=employee
    )
    start_instance(version, {"item": "Lamp", "amount": "1200", "currency": "USD"}, initiator=employee)
    page = login("employee")

    page.goto("/requests/")
    page.get_by_test_id("request-search").fill(laptop.reference.lower())
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("request-row")).to_have_count(1)
    page.get_by_role("link", name="Laptop").click()
    expect(page.get_by_test_id("request-number")).to_have_text(laptop.reference)
    screenshot(page, "request-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_test_id("request-number")).to_have_text(laptop.reference)
    screenshot(page, "request-phone")
