"""Sharing in a real browser: the owner shares a new workflow with a group, whose people can then request it."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from orchestration.definitions import create_workflow, publish_version
from tests import bpmn

FLOW = bpmn.definitions(bpmn.start("start"), bpmn.end("end"), *bpmn.chain("start", "end"))


def test_admin_shares_a_new_workflow_with_employees_who_then_find_it_under_new_request(
    demo, login, screenshot
) -> None:
    admin = get_user_model().objects.get(username="admin")
    draft = create_workflow(
        "laptop-request", "Laptop request", FLOW, owner=admin, description="A new laptop."
    )
    publish_version(draft, actor=admin)
    employees = Group.objects.get(name="Employees")

    employee = login("employee")
    employee.goto("/requests/new/")
    expect(employee.get_by_test_id("catalog")).to_contain_text("Purchase request")
    expect(employee.get_by_test_id("catalog")).not_to_contain_text("Laptop request")

    page = login("admin")
    page.goto("/designer/")
    page.get_by_role("button", name="More actions for Laptop request").click()
    page.get_by_role("link", name="Sharing").click()
    expect(page.get_by_role("heading", name="Share Laptop request")).to_be_visible()
    page.evaluate("window.sameDocument = true")  # a full reload would forget this

    add_group = page.get_by_test_id("share-group")
    add_group.get_by_label("Group").select_option(str(employees.pk))
    add_group.get_by_label("Access").select_option(label="Can request")
    add_group.get_by_role("button", name="Share").click()

    expect(page.get_by_role("alert")).to_contain_text("Employees can now request Laptop request.")
    row = page.get_by_test_id(f"access-group-{employees.pk}")
    expect(row).to_contain_text("Employees")
    expect(row.get_by_label("Access for Employees", exact=True)).to_have_value("request")
    assert page.evaluate("window.sameDocument") is True
    screenshot(page, "shared-with-employees")

    employee.reload()
    expect(employee.get_by_test_id("catalog")).to_contain_text("Laptop request")
