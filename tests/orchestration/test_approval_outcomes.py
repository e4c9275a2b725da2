"""An Approval's decisions take their own paths, and its approver fills in typed fields."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from approvals.actions import InvalidDecision, InvalidFields, complete_task, resubmit_request
from approvals.models import ApprovalTask
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.engine import start_instance
from orchestration.models import ProcessInstance, Step
from tests import bpmn
from tests.conftest import Engine
from tests.orchestration.conftest import Answer, Client, ScriptedServer
from tests.orchestration.factories import publish
from tests.orchestration.test_engine_integration import wait_done

FORM = (bpmn.field("item", required=True),)
APPROVER_FIELDS = (
    bpmn.field("cost_centre", "choice", required=True, choices="IT,Sales,Finance"),
    bpmn.field("po_number", required=True),
    bpmn.field("quantity", "integer"),
)


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model().objects
    return {
        "ann": users.create_user("ann", password="x"),
        "bob": users.create_user("bob", password="x"),
    }


def _approval(*paths: str, ends: tuple[str, ...] = ("ok", "no", "redo"), fields: tuple[str, ...] = ()) -> str:
    """Start → Approval by bob → the paths given (flows out of "approve") → Ends."""
    return bpmn.definitions(
        bpmn.start("start", *FORM),
        bpmn.user_task("approve", *fields, name="Manager approval", assignee="bob"),
        *(bpmn.end(e, outcome=e, name=e) for e in ends),
        bpmn.flow("start", "approve"),
        *paths,
    )


def _three_paths() -> str:
    return _approval(
        bpmn.flow("approve", "ok", id="to_ok", name="Approved", outcome="approved"),
        bpmn.flow("approve", "no", id="to_no", name="Rejected", outcome="rejected"),
        bpmn.flow("approve", "redo", id="to_redo", name="Changes requested", outcome="changes_requested"),
    )


def _errors(xml: str) -> list[str]:
    return [str(p) for p in compile_bpmn(xml).errors]


def _task(instance: ProcessInstance) -> ApprovalTask:
    return ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)


# --- what publishing says


def test_paths_per_decision_compile_to_the_approvals_outcomes() -> None:
    result = compile_bpmn(_three_paths())

    assert result.errors == []
    assert result.graph is not None
    assert result.graph["nodes"]["approve"]["config"]["outcomes"] == {
        "approved": "to_ok",
        "rejected": "to_no",
        "changes_requested": "to_redo",
    }


def test_decision_paths_without_one_for_approved_are_a_problem_naming_the_approval() -> None:
    errors = _errors(_approval(bpmn.flow("approve", "no", outcome="rejected")))

    assert any(
        "Manager approval" in e and "none for Approved: add a path for Approved" in e for e in errors
    ), errors


def test_two_paths_for_one_decision_are_a_problem() -> None:
    xml = _approval(
        bpmn.flow("approve", "ok", outcome="approved"),
        bpmn.flow("approve", "no", outcome="approved"),
    )

    assert any("has two paths for Approved" in e for e in _errors(xml))


def test_a_path_without_a_decision_beside_decision_paths_is_a_problem() -> None:
    xml = _approval(bpmn.flow("approve", "ok", outcome="approved"), bpmn.flow("approve", "no", name="Other"))

    assert any("without saying which decision takes it" in e for e in _errors(xml))


def test_an_unknown_decision_on_a_path_is_a_problem() -> None:
    xml = _approval(
        bpmn.flow("approve", "ok", outcome="approved"), bpmn.flow("approve", "no", outcome="maybe")
    )

    assert any('"maybe", which is not a decision' in e for e in _errors(xml))


def test_a_decision_on_a_path_that_does_not_leave_an_approval_is_a_problem() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.end(),
        bpmn.flow("start", "end", outcome="approved"),
    )

    assert any("is not an Approval" in e for e in _errors(xml))


def test_approver_fields_are_typed_variables_a_later_decision_reads() -> None:
    xml = _approval(
        bpmn.flow("approve", "big", outcome="approved"),
        bpmn.flow("approve", "no", outcome="rejected"),
        bpmn.gateway("big", default="to_ok"),
        bpmn.flow("big", "redo", condition="quantity > 5"),
        bpmn.flow("big", "ok", id="to_ok"),
        fields=APPROVER_FIELDS,
    )
    result = compile_bpmn(xml)

    assert result.errors == []
    assert result.graph is not None
    assert {k: result.graph["variables"][k] for k in ("cost_centre", "po_number", "quantity")} == {
        "cost_centre": "string",
        "po_number": "string",
        "quantity": "integer",
    }
    typed_wrong = xml.replace("quantity &gt; 5", "quantity &gt; &quot;5&quot;")
    assert any("quantity" in e for e in _errors(typed_wrong))


# --- running, with the real worker


@pytest.mark.parametrize(
    ("outcome", "comment", "end"),
    [("approved", "", "ok"), ("rejected", "Too dear", "no"), ("changes_requested", "Cheaper one", "redo")],
)
def test_each_decision_takes_its_own_path(
    live_engine: Engine, people: dict[str, Any], outcome: str, comment: str, end: str
) -> None:
    version = publish(_three_paths(), key=f"paths-{outcome.replace('_', '-')}")
    instance = start_instance(version, {"item": "Desk"}, initiator=people["ann"])

    complete_task(_task(instance).id, people["bob"], outcome, comment=comment)

    done = wait_done(instance)
    assert done.status == ProcessInstance.Status.COMPLETED
    assert done.outcome == end
    assert list(done.steps.filter(kind="end").values_list("node_id", flat=True)) == [end]
    assert done.variables["approval"]["outcome"] == outcome
    assert not ApprovalTask.objects.filter(instance=instance, kind=ApprovalTask.Kind.RESUBMIT).exists()


def test_the_approved_path_runs_an_automated_step_on_the_worker(
    live_engine: Engine, people: dict[str, Any], http_server: ScriptedServer
) -> None:
    http_server.answer(Answer(body={"ok": True}))
    xml = bpmn.definitions(
        bpmn.start("start", *FORM),
        bpmn.user_task("approve", name="Manager approval", assignee="bob"),
        bpmn.service("order", properties={"url": http_server.url + "/order", "method": "POST"}),
        bpmn.end("ok", outcome="ok"),
        bpmn.end("no", outcome="no"),
        bpmn.flow("start", "approve"),
        bpmn.flow("approve", "order", outcome="approved"),
        bpmn.flow("approve", "no", outcome="rejected"),
        bpmn.flow("order", "ok"),
    )
    instance = start_instance(publish(xml, key="paths-worker"), {"item": "Desk"}, initiator=people["ann"])

    complete_task(_task(instance).id, people["bob"], "approved")

    done = wait_done(instance)
    assert done.outcome == "ok"
    assert [r.path for r in http_server.received] == ["/order"]


def test_changes_requested_without_its_own_path_sends_the_request_back(
    live_engine: Engine, people: dict[str, Any]
) -> None:
    xml = _approval(
        bpmn.flow("approve", "ok", outcome="approved"),
        bpmn.flow("approve", "no", outcome="rejected"),
        ends=("ok", "no"),
    )
    instance = start_instance(publish(xml, key="paths-send-back"), {"item": "Desk"}, initiator=people["ann"])

    complete_task(_task(instance).id, people["bob"], "changes_requested", comment="Which desk?")
    back = _task(instance)
    assert back.kind == ApprovalTask.Kind.RESUBMIT
    resubmit_request(back.id, people["ann"], {"item": "Standing desk"})
    complete_task(_task(instance).id, people["bob"], "approved")

    done = wait_done(instance)
    assert done.outcome == "ok"
    assert done.variables["item"] == "Standing desk"


def test_an_approval_without_a_rejected_path_cannot_be_rejected(db: None, people: dict[str, Any]) -> None:
    xml = _approval(bpmn.flow("approve", "ok", outcome="approved"), ends=("ok",))
    instance = start_instance(publish(xml, key="paths-no-reject"), {"item": "Desk"}, initiator=people["ann"])

    with pytest.raises(InvalidDecision, match="no path for it") as refused:
        complete_task(_task(instance).id, people["bob"], "rejected", comment="No")

    assert refused.value.field == "outcome"
    assert Step.objects.get(instance=instance, node_id="approve").status == Step.Status.WAITING


def test_a_diagram_with_one_unmarked_path_and_a_decision_after_it_runs_as_before(
    live_engine: Engine, people: dict[str, Any]
) -> None:
    xml = _approval(
        bpmn.flow("approve", "ok_gw"),
        bpmn.gateway("ok_gw", default="f_no"),
        bpmn.flow("ok_gw", "ok", condition='approval.outcome == "approved"'),
        bpmn.flow("ok_gw", "no", id="f_no"),
        ends=("ok", "no"),
    )
    version = publish(xml, key="paths-before")
    assert version.graph["nodes"]["approve"]["config"]["outcomes"] == {}
    approved = start_instance(version, {"item": "Desk"}, initiator=people["ann"])
    rejected = start_instance(version, {"item": "Chair"}, initiator=people["ann"])

    complete_task(_task(approved).id, people["bob"], "approved")
    complete_task(_task(rejected).id, people["bob"], "rejected", comment="No")

    assert wait_done(approved).outcome == "ok"
    assert wait_done(rejected).outcome == "no"


def test_a_graph_published_before_decision_paths_still_resumes_on_its_path(
    db: None, people: dict[str, Any]
) -> None:
    version = publish(_approval(bpmn.flow("approve", "ok"), ends=("ok",)), key="paths-old-graph")
    graph = version.graph
    del graph["nodes"]["approve"]["config"]["outcomes"]  # as stored before approvals had paths
    del graph["nodes"]["approve"]["config"]["fields"]
    type(version).objects.filter(pk=version.pk).update(graph=graph)
    version.refresh_from_db()
    instance = start_instance(version, {"item": "Desk"}, initiator=people["ann"])

    complete_task(_task(instance).id, people["bob"], "approved", data={"note": "kept"})

    instance.refresh_from_db()
    assert instance.outcome == "ok"
    assert instance.variables["approval"]["note"] == "kept"


# --- what the approver fills in


def _with_fields() -> str:
    return _approval(
        bpmn.flow("approve", "big", outcome="approved"),
        bpmn.flow("approve", "no", outcome="rejected"),
        bpmn.gateway("big", default="to_ok"),
        bpmn.flow("big", "redo", condition="quantity > 5"),
        bpmn.flow("big", "ok", id="to_ok"),
        fields=APPROVER_FIELDS,
    )


def test_approver_fields_are_checked_and_a_later_decision_reads_them(
    live_engine: Engine, people: dict[str, Any]
) -> None:
    version = publish(_with_fields(), key="fields-flow")
    instance = start_instance(version, {"item": "Desks"}, initiator=people["ann"])
    task = _task(instance)

    with pytest.raises(InvalidFields) as missing:
        complete_task(task.id, people["bob"], "approved", data={"cost_centre": "Marketing", "quantity": "x"})
    assert set(missing.value.errors) == {"cost_centre", "po_number", "quantity"}
    assert missing.value.field == "data"

    complete_task(
        task.id, people["bob"], "approved", data={"cost_centre": "IT", "po_number": "PO-7", "quantity": "12"}
    )

    done = wait_done(instance)
    assert done.outcome == "redo"  # quantity 12 > 5, read as a whole number
    assert (done.variables["cost_centre"], done.variables["po_number"], done.variables["quantity"]) == (
        "IT",
        "PO-7",
        12,
    )
    assert done.variables["approval"]["po_number"] == "PO-7"
    task.refresh_from_db()
    assert task.data == {"cost_centre": "IT", "po_number": "PO-7", "quantity": 12}


def test_rejecting_needs_only_a_comment_not_the_required_fields(db: None, people: dict[str, Any]) -> None:
    instance = start_instance(
        publish(_with_fields(), key="fields-reject"), {"item": "Desks"}, initiator=people["ann"]
    )

    complete_task(_task(instance).id, people["bob"], "rejected", comment="Not now")

    instance.refresh_from_db()
    assert instance.outcome == "no"


def test_the_api_refuses_a_bad_field_with_400_naming_it(
    db: None, api: Client, people: dict[str, Any]
) -> None:
    instance = start_instance(
        publish(_with_fields(), key="fields-api"), {"item": "Desks"}, initiator=people["ann"]
    )
    task = _task(instance)
    url = f"/api/tasks/{task.id}/complete/"

    bad = api(people["bob"]).post(
        url,
        {"outcome": "approved", "data": {"cost_centre": "IT", "po_number": "PO-1", "quantity": "many"}},
        format="json",
    )
    unknown = api(people["bob"]).post(
        url,
        {"outcome": "approved", "data": {"cost_centre": "IT", "po_number": "PO-1", "colour": "red"}},
        format="json",
    )
    good = api(people["bob"]).post(
        url,
        {"outcome": "approved", "data": {"cost_centre": "IT", "po_number": "PO-1", "quantity": 3}},
        format="json",
    )

    assert bad.status_code == 400
    assert list(bad.json()["data"]) == ["quantity"]
    assert unknown.status_code == 400
    assert list(unknown.json()["data"]) == ["colour"]
    assert good.status_code == 200, good.json()
    assert good.json()["data"] == {"cost_centre": "IT", "po_number": "PO-1", "quantity": 3}
    instance.refresh_from_db()
    assert instance.outcome == "ok"
