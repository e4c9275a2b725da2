"""The task page: the fields an approver fills in, checked on approval, shown once filled; decisions without a path."""

from __future__ import annotations

from typing import Any

import lxml.html
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from guardian.shortcuts import assign_perm

from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.models import ProcessInstance
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model().objects
    return {"ann": users.create_user("ann", password="x"), "bob": users.create_user("bob", password="x")}


def _request(people: dict[str, Any], *, reject_path: bool = True) -> ProcessInstance:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("item", required=True)),
        bpmn.user_task(
            "approve",
            bpmn.field("cost_centre", "choice", required=True, choices="IT,Sales", label="Cost centre"),
            bpmn.field("po_number", required=True, label="PO number"),
            name="Manager approval",
            assignee="bob",
        ),
        bpmn.end("ok", outcome="approved"),
        *((bpmn.end("no", outcome="rejected"),) if reject_path else ()),
        bpmn.flow("start", "approve"),
        bpmn.flow("approve", "ok", name="Approved", outcome="approved"),
        *((bpmn.flow("approve", "no", name="Rejected", outcome="rejected"),) if reject_path else ()),
    )
    version = publish(xml, key="fields-page" if reject_path else "fields-page-no-reject")
    assign_perm("orchestration.view_workflow", people["ann"], version.workflow)
    return start_instance(version, {"item": "Desk"}, initiator=people["ann"])


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _task(instance: ProcessInstance) -> ApprovalTask:
    return ApprovalTask.objects.get(instance=instance, kind=ApprovalTask.Kind.DECISION)


def test_the_task_page_asks_for_the_approvers_fields(people):
    task = _task(_request(people))

    page = lxml.html.fromstring(_client(people["bob"]).get(f"/tasks/{task.id}/").content)

    box = page.get_element_by_id("decision")
    assert [
        label.text_content().strip(" *") for label in box.xpath(".//*[@data-testid='approver-fields']//label")
    ] == [
        "Cost centre",
        "PO number",
    ]
    assert box.xpath(".//select[@name='field-cost_centre']/option[@value='IT']")
    assert box.xpath(".//button[@value='rejected']")


def test_approving_without_a_required_field_shows_the_error_on_it(people):
    instance = _request(people)
    task = _task(instance)

    response = _client(people["bob"]).post(
        f"/tasks/{task.id}/decide/", {"outcome": "approved", "field-cost_centre": "IT", "field-po_number": ""}
    )

    assert response.status_code == 400
    page = lxml.html.fromstring(response.content)
    assert page.xpath("//*[@data-testid='error-po_number']")[0].text_content() == "This field is required."
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.RUNNING


def test_rejecting_needs_only_the_comment(people):
    instance = _request(people)

    response = _client(people["bob"]).post(
        f"/tasks/{_task(instance).id}/decide/", {"outcome": "rejected", "comment": "Not now"}
    )

    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.outcome == "rejected"


def test_filled_values_show_on_the_task_and_the_request(people):
    instance = _request(people)
    task = _task(instance)

    _client(people["bob"]).post(
        f"/tasks/{task.id}/decide/",
        {"outcome": "approved", "field-cost_centre": "Sales", "field-po_number": "PO-42"},
    )

    instance.refresh_from_db()
    assert instance.outcome == "approved"
    for user, url in ((people["bob"], f"/tasks/{task.id}/"), (people["ann"], f"/requests/{instance.id}/")):
        page = lxml.html.fromstring(_client(user).get(url).content)
        filled = page.xpath("//*[@data-testid='filled']")
        assert filled, url
        rows = [" ".join(row.text_content().split()) for row in filled[0].xpath("./div")]
        assert rows == ["Cost centre: Sales", "PO number: PO-42"]


def test_an_approval_without_a_rejected_path_offers_no_reject_button(people):
    task = _task(_request(people, reject_path=False))

    page = lxml.html.fromstring(_client(people["bob"]).get(f"/tasks/{task.id}/").content)

    assert not page.xpath("//*[@id='decision']//button[@value='rejected']")
    assert page.xpath("//*[@id='decision']//button[@value='approved']")
