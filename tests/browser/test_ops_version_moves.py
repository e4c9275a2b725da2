"""Moving running requests to a new version in a real browser: a dry run, then apply."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from guardian.shortcuts import assign_perm
from playwright.sync_api import Dialog, expect

from approvals.actions import complete_task
from approvals.models import ApprovalTask
from orchestration.definitions import create_workflow, publish_version, save_draft
from orchestration.engine import start_instance
from orchestration.models import Event, ProcessInstance
from tests import bpmn


def _flow(*, legal: bool) -> str:
    """Large orders went to Legal in version 1; version 2 drops Legal and stamps every approved order."""
    start = bpmn.start(
        "start", bpmn.field("item", required=True), bpmn.field("amount", "integer", required=True)
    )
    if legal:
        return bpmn.definitions(
            start,
            bpmn.gateway("size", default="f_small", name="Large order?"),
            bpmn.user_task("legal", name="Legal review", assignee="admin"),
            bpmn.user_task("approve", name="Manager approval", assignee="admin"),
            bpmn.end("end", outcome="approved"),
            bpmn.flow("start", "size"),
            bpmn.flow("size", "legal", id="f_large", condition="amount > 10000"),
            bpmn.flow("size", "approve", id="f_small"),
            *bpmn.chain("legal", "approve", "end"),
        )
    return bpmn.definitions(
        start,
        bpmn.user_task("approve", name="Manager approval", assignee="admin"),
        bpmn.script("stamp", '{"stamped": true}', name="Stamp the order"),
        bpmn.end("end", outcome="approved"),
        *bpmn.chain("start", "approve", "stamp", "end"),
    )


def test_an_operator_moves_fifty_requests_and_two_at_a_removed_step_stay(demo, login, screenshot) -> None:
    users = get_user_model()
    admin, buyer, employee = (users.objects.get(username=n) for n in ("admin", "buyer", "employee"))
    v1 = publish_version(
        create_workflow("orders", "Office orders", _flow(legal=True), owner=admin), actor=admin
    )
    for perm in ("view_workflow", "change_workflow"):
        assign_perm(f"orchestration.{perm}", buyer, v1.workflow)  # the buyer operates it
    amounts = [20_000 if n in (7, 31) else 100 + n for n in range(50)]
    instances = [
        start_instance(v1, {"item": f"Chair {n}", "amount": amount}, initiator=employee)
        for n, amount in enumerate(amounts)
    ]
    draft, _ = save_draft(v1.workflow, _flow(legal=False), actor=admin)
    publish_version(draft, actor=admin)

    page = login("buyer")
    page.goto("/operations/?workflow=orders&version=1&status=running")
    page.get_by_test_id("move-version-link").click()
    expect(page.get_by_role("heading", name="Move requests to a new version")).to_be_visible()
    expect(page.get_by_label("Requests running on")).to_have_value("1")
    expect(page.get_by_label("Move them to")).to_have_value("2")
    form = page.get_by_test_id("move-form")
    expect(form.get_by_role("heading")).to_contain_text("50 running requests of Office orders")
    expect(form.get_by_label("“Legal review” continues at")).to_have_value("")

    form.get_by_test_id("move-dry-run").click()
    expect(page.get_by_test_id("move-summary")).to_have_text("48 requests can move; 2 cannot move.")
    refused = page.get_by_test_id("move-refused-row")
    expect(refused).to_have_count(2)
    expect(refused.first).to_contain_text("It waits at “Legal review”, which the new version no longer has")
    expect(page.get_by_test_id("move-by-step")).to_have_text(
        "48 waiting at Manager approval Manager approval", use_inner_text=True
    )
    assert not Event.objects.filter(kind="instance.migrated").exists()
    screenshot(page, "dry-run-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "dry-run-phone")
    page.set_viewport_size({"width": 1360, "height": 900})
    page.get_by_test_id("move-each").locator("summary").click()
    expect(page.get_by_test_id("move-movable-row")).to_have_count(48)
    expect(page.get_by_test_id("move-movable-row").first).to_contain_text("Chair 0")

    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_test_id("move-form").get_by_label("Why").fill("Legal review is no longer needed")
    page.get_by_test_id("move-apply").click()
    expect(page.get_by_test_id("move-summary")).to_have_text("48 requests moved; 2 cannot move.")
    assert questions == ["Move the requests that can move to version 2?"]
    expect(page.get_by_test_id("move-form").get_by_role("heading")).to_contain_text("2 running requests")
    screenshot(page, "applied-desktop")
    # The move answered with a redirect: reloading shows the page again and moves nothing again.
    page.reload()
    expect(page.get_by_test_id("move-form").get_by_role("heading")).to_contain_text("2 running requests")
    expect(page.get_by_test_id("move-summary")).to_have_count(0)
    assert Event.objects.filter(kind="instance.migrated").count() == 48

    # The two left: their Legal review continues at the manager's approval in version 2.
    page.get_by_test_id("move-form").get_by_label("“Legal review” continues at").select_option(
        label="Manager approval"
    )
    page.get_by_test_id("move-dry-run").click()
    expect(page.get_by_test_id("move-summary")).to_have_text("2 requests can move.")
    expect(page.get_by_test_id("move-by-step")).to_contain_text("2 waiting at Legal review")
    expect(page.get_by_test_id("move-by-step")).to_contain_text("chosen by you")
    screenshot(page, "mapped-dry-run-desktop")

    on_v2 = ProcessInstance.objects.filter(id__in=[i.id for i in instances], version__number=2)
    assert on_v2.count() == 48
    assert {
        i.variables["item"] for i in ProcessInstance.objects.filter(version__number=1, workflow=v1.workflow)
    } == {
        "Chair 7",
        "Chair 31",
    }
    moved = instances[0]
    assert Event.objects.get(instance=moved, kind="instance.migrated").actor == buyer
    complete_task(
        ApprovalTask.objects.get(instance=moved, status=ApprovalTask.Status.OPEN).id, admin, "approved"
    )
    moved.refresh_from_db()
    assert moved.status == ProcessInstance.Status.COMPLETED and moved.variables["stamped"] is True


def test_an_operator_ticks_three_requests_in_the_list_and_moves_only_those(demo, login, screenshot) -> None:
    users = get_user_model()
    admin, buyer, employee = (users.objects.get(username=n) for n in ("admin", "buyer", "employee"))
    v1 = publish_version(
        create_workflow("orders", "Office orders", _flow(legal=True), owner=admin), actor=admin
    )
    for perm in ("view_workflow", "change_workflow"):
        assign_perm(f"orchestration.{perm}", buyer, v1.workflow)
    instances = {
        n: start_instance(v1, {"item": f"Chair {n}", "amount": 100 + n}, initiator=employee) for n in range(6)
    }
    draft, _ = save_draft(v1.workflow, _flow(legal=False), actor=admin)
    publish_version(draft, actor=admin)

    page = login("buyer")
    page.goto("/operations/?workflow=orders")
    for n in (1, 3, 4):
        page.get_by_label(f"Choose request {instances[n].reference} to move").check()
    screenshot(page, "ticked-desktop")
    page.get_by_test_id("move-selected-button").click()
    expect(page.get_by_test_id("move-chosen")).to_contain_text("Only the 3 requests you ticked")
    expect(page.get_by_label("Requests running on")).to_have_value("1")
    expect(page.get_by_test_id("move-form").get_by_role("heading")).to_contain_text("3 running requests")
    page.get_by_test_id("move-dry-run").click()
    expect(page.get_by_test_id("move-summary")).to_have_text("3 requests can move.")
    page.get_by_test_id("move-each").locator("summary").click()
    rows = page.get_by_test_id("move-movable-row")
    expect(rows).to_have_count(3)
    for n, row in zip((1, 3, 4), rows.all(), strict=True):
        expect(row).to_contain_text(f"Chair {n}")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "ticked-dry-run-phone")
    page.set_viewport_size({"width": 1360, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("move-form").get_by_label("Why").fill("These three follow the new rules")
    page.get_by_test_id("move-apply").click()
    expect(page.get_by_test_id("move-summary")).to_have_text("3 requests moved.")

    moved = set(
        ProcessInstance.objects.filter(workflow=v1.workflow, version__number=2).values_list("id", flat=True)
    )
    assert moved == {instances[n].id for n in (1, 3, 4)}
