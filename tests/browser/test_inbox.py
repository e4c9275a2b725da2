"""The inbox in a browser: filters apply while typing and the address bar follows them."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.models import Workflow
from tests.conftest import wait_for

# Typing, the address bar and the sort select are the page's scripts; the inbox's filters and sorting
# are tested on both backends in tests/approvals/test_views.py.
pytestmark = pytest.mark.backend_neutral


def test_typing_a_search_filters_the_list_without_leaving_the_field(demo, login, screenshot):
    version = Workflow.objects.get(key="purchase-approval").published_version
    employee = get_user_model().objects.get(username="employee")
    for item, amount in [("Laptop", 1500), ("Desk chair", 900), ("Monitor", 700)]:
        start_instance(version, {"item": item, "amount": amount, "currency": "USD"}, initiator=employee)
    wait_for(lambda: ApprovalTask.objects.filter(status="open").count() == 3, what="three approval tasks")
    page = login("manager")
    page.goto("/inbox/")
    rows = page.get_by_test_id("task-row")
    expect(rows).to_have_count(3)

    page.get_by_placeholder("Search or number…").press_sequentially("lapt")

    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Laptop")
    expect(page).to_have_url(re.compile(r"/inbox/\?.*q=lapt"))
    expect(page.get_by_placeholder("Search or number…")).to_be_focused()

    page.get_by_placeholder("Search or number…").fill("")
    page.get_by_placeholder("Search or number…").dispatch_event("input")
    expect(rows).to_have_count(3)
    page.locator("select[name=sort]").select_option("-amount")
    expect(rows.first).to_contain_text("Laptop")
    expect(rows.last).to_contain_text("Monitor")
    expect(page).to_have_url(re.compile(r"sort=-amount"))
    screenshot(page, "sorted")
