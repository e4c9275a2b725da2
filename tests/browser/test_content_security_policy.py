"""Pages work under the Content Security Policy: no inline script runs, none is needed.

The ``login`` fixture fails a test whose pages made Chromium refuse anything under the
policy; these tests visit the pages no other browser test opens and use the behaviours
that moved from inline handlers to static files.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.models import Workflow
from tests.conftest import wait_for

# What Chromium refuses under the policy depends on the pages' scripts, not on the database.
pytestmark = pytest.mark.backend_neutral


def _start_requests(count: int) -> None:
    version = Workflow.objects.get(key="purchase-approval").published_version
    employee = get_user_model().objects.get(username="employee")
    for number in range(count):
        start_instance(
            version, {"item": f"Chair {number}", "amount": 800, "currency": "USD"}, initiator=employee
        )
    wait_for(lambda: ApprovalTask.objects.filter(status="open").count() == count, what="the approval tasks")


def test_every_page_is_served_with_the_policy(demo, login) -> None:
    page = login("employee")
    response = page.goto("/requests/")
    assert response is not None
    policy = dict(
        part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"].startswith("'self'")
    assert "unsafe" not in policy["script-src"]
    assert policy["frame-ancestors"] == "'none'"


def test_select_all_and_the_approve_question_work_without_inline_scripts(demo, login) -> None:
    _start_requests(2)
    page = login("manager")
    page.goto("/inbox/")
    boxes = page.locator("input[name=task]")
    expect(boxes).to_have_count(2)

    page.get_by_label("Select all on this page").check()
    expect(boxes.nth(0)).to_be_checked()
    expect(boxes.nth(1)).to_be_checked()

    questions: list[str] = []

    def decline(dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", decline)
    page.get_by_role("button", name="Approve selected").click()
    wait_for(lambda: questions, what="the confirmation question")
    assert questions == ["Approve every selected request?"]
    assert ApprovalTask.objects.filter(status="open").count() == 2  # declined: nothing approved


def test_task_page_keyboard_shortcut_focuses_the_comment(demo, login) -> None:
    _start_requests(1)
    task = ApprovalTask.objects.get(status="open")
    page = login("manager")
    page.goto(f"/tasks/{task.pk}/")
    page.locator("body").press("/")
    expect(page.locator("#decision textarea")).to_be_focused()


def test_admin_and_api_docs_work_under_the_policy(demo, login) -> None:
    page = login("admin")
    page.goto("/admin/")
    expect(page.get_by_role("link", name="Baton administration")).to_be_visible()
    page.goto("/admin/auth/user/add/")
    expect(page.get_by_label("Username")).to_be_visible()
    page.goto("/api/docs/")
    # Swagger UI builds the page from the schema with scripts only: its title shows it ran.
    expect(page.get_by_role("heading", name="Baton API")).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
