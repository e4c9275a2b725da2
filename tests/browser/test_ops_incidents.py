"""The problems page in a real browser: an operator retries a whole group of failed orders at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from guardian.shortcuts import assign_perm
from playwright.sync_api import Dialog, expect

from orchestration.definitions import create_workflow, publish_version
from orchestration.engine import start_instance
from orchestration.models import Incident
from tests import bpmn
from tests.conftest import wait_for, wait_until_completed
from tests.orchestration.conftest import Answer, ScriptedServer


@pytest.fixture
def supplier() -> Iterator[ScriptedServer]:
    """A supplier system that refuses orders (400, not worth retrying by itself) until told otherwise."""
    server = ScriptedServer()
    server.answer(Answer(status=400, body={"error": "Supplier catalogue is closed for stock-taking"}))
    server.start()
    yield server
    server.stop()


def _order_flow(url: str) -> str:
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("item", required=True)),
        bpmn.service(
            "order",
            name="Order from supplier",
            properties={"url": url, "method": "POST"},
            inputs={"item": "item"},
            retries=0,
        ),
        bpmn.end("end", outcome="ordered"),
        *bpmn.chain("start", "order", "end"),
    )


def test_an_operator_retries_a_group_of_failed_orders_and_they_complete(
    demo, login, screenshot, supplier: ScriptedServer
) -> None:
    users = get_user_model()
    admin, buyer, employee = (users.objects.get(username=n) for n in ("admin", "buyer", "employee"))
    draft = create_workflow(
        "supplier-order", "Supplier order", _order_flow(f"{supplier.url}/orders"), owner=admin
    )
    version = publish_version(draft, actor=admin)
    for perm in ("view_workflow", "change_workflow"):
        assign_perm(f"orchestration.{perm}", buyer, version.workflow)  # the buyer operates it
    instances = [start_instance(version, {"item": f"Toner {n}"}, initiator=employee) for n in range(3)]
    wait_for(
        lambda: Incident.objects.filter(instance__in=instances, resolved_at__isnull=True).count() == 3,
        timeout=60,
        what="three incidents",
    )

    page = login("buyer")
    page.goto("/operations/incidents/")
    group = page.get_by_test_id("incident-group")
    expect(group).to_have_count(1)
    expect(group.get_by_test_id("incident-count")).to_have_text("3 requests")
    expect(group).to_contain_text("Order from supplier")
    expect(group.get_by_test_id("incident-error")).to_contain_text("Supplier catalogue is closed")
    group.get_by_text("Which requests").click()
    expect(group.get_by_test_id("incident-requests").get_by_role("link")).to_have_count(3)
    screenshot(page, "group-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "group-phone")
    page.set_viewport_size({"width": 1360, "height": 900})

    supplier.answer(Answer(status=201, body={"order": "SO-1"}))  # stock-taking is over
    group.get_by_label("Why").fill("Stock-taking is over")
    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    group.get_by_role("button", name="Retry all 3").click()

    expect(page.get_by_role("alert")).to_contain_text("Retried 3 of 3.")
    assert questions == ["Try the step again for all 3 requests?"]
    wait_until_completed(instances)
    page.reload()
    expect(page.get_by_test_id("incidents-empty")).to_be_visible()
    screenshot(page, "all-dealt-with")
    retried = Incident.objects.filter(instance__in=instances, resolution=Incident.Resolution.RETRIED)
    assert {i.resolved_by for i in retried} == {buyer} and retried.count() == 3
