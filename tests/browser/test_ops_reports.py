"""The reports page in a real browser: Chart.js draws each chart from the page's data, on desktop and phone."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from approvals.actions import complete_task
from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.models import Workflow
from tests.conftest import wait_for


def test_an_operator_reads_the_purchase_report_as_charts(demo, login, screenshot) -> None:
    users = get_user_model()
    employee, manager = users.objects.get(username="employee"), users.objects.get(username="manager")
    version = Workflow.objects.get(key="purchase-approval").published_version
    for n, amount in enumerate((1200, 1500, 1800)):
        start_instance(
            version, {"item": f"Monitor {n}", "amount": amount, "currency": "USD"}, initiator=employee
        )
    opened = ApprovalTask.objects.filter(status=ApprovalTask.Status.OPEN).order_by("id")
    wait_for(lambda: opened.count() == 3, what="three approval tasks")  # a worker may run the start
    open_tasks = list(opened)
    complete_task(open_tasks[0].id, manager, "approved")
    complete_task(open_tasks[1].id, manager, "rejected", comment="Not this quarter")

    page = login("admin")
    page.goto("/operations/reports/?workflow=purchase-approval&days=7")

    expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    started = page.get_by_test_id("report-days").get_by_test_id("figure").first
    expect(started).to_contain_text("3")
    expect(page.get_by_test_id("report-approvals")).to_contain_text("50 %")
    for key in ("days", "blocks", "approvals"):
        canvas = page.locator(f'canvas[data-chart="{key}"]')
        expect(canvas).to_be_visible()
        drawn = canvas.evaluate(
            "c => { const chart = Chart.getChart(c); return chart ? chart.data.datasets.length : 0; }"
        )
        assert drawn >= 1, key
    screenshot(page, "desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator('canvas[data-chart="days"]')).to_be_visible()
    screenshot(page, "phone")

    with page.expect_download() as download:
        page.get_by_test_id("csv-approvals").click()
    assert download.value.suggested_filename == "purchase-approval-approvals-7d.csv"
