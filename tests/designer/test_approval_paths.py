"""The Approval panel's "After this approval", its "Add a path" buttons, the path's "When", and approver fields."""

from __future__ import annotations

from typing import Any

import pytest

from designer import panels
from designer.diagram import Diagram, apply_payload
from orchestration.bpmn.compiler import compile_bpmn
from tests import bpmn
from tests.designer.test_forms import bound, context, errors_of, rows

pytestmark = pytest.mark.django_db

APPROVAL = {
    "name": "Manager approval",
    "assignee_rule": "user",
    "assignee": "bob",
    "due_unit": "days",
    "reminder_unit": "days",
}


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob")


def _one_path() -> str:
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("amount", "number")),
        bpmn.user_task("approve", name="Manager approval", assignee="bob"),
        bpmn.service("order", name="Order it"),
        bpmn.end("end", name="Done"),
        *bpmn.chain("start", "approve", "order", "end"),
    )


def _applied(xml: str, payload: Any) -> str:
    diagram = Diagram.parse(xml)
    apply_payload(diagram, payload)
    return diagram.to_xml()


def _after(xml: str) -> list[tuple[str, str]]:
    form = panels.form_class(context(xml, "approve").element).for_element(context(xml, "approve"))
    return [(row["label"], row.get("target_name", "")) for row in form.after()]  # type: ignore[attr-defined]


def test_an_approval_with_one_path_shows_it_taken_whatever_is_decided(bob: Any) -> None:
    assert _after(_one_path()) == [("Whatever is decided", "Order it")]


def test_adding_a_rejected_path_marks_the_existing_one_approved_and_adds_an_end(bob: Any) -> None:
    form = bound(_one_path(), "approve", {**APPROVAL, **rows("fields"), "add_path": "rejected"})
    assert form.is_valid(), errors_of(form)
    payload = form.payload()

    assert payload["paths"] == [
        {"flow": "f_approve_order", "outcome": "approved", "name": "Approved"},
        {
            "flow": "Flow_approve_rejected",
            "outcome": "rejected",
            "name": "Rejected",
            "end": {"id": "End_approve_rejected", "name": "Rejected"},
        },
    ]
    xml = _applied(_one_path(), payload)
    result = compile_bpmn(xml)
    assert result.errors == []
    assert result.graph is not None
    assert result.graph["nodes"]["approve"]["config"]["outcomes"] == {
        "approved": "f_approve_order",
        "rejected": "Flow_approve_rejected",
    }
    assert result.graph["nodes"]["End_approve_rejected"]["config"]["outcome"] == "rejected"
    assert _after(xml) == [
        ("Approved", "Order it"),
        ("Rejected", "Rejected"),
        ("Changes requested", ""),
    ]


def test_adding_approved_to_an_approval_with_no_path_draws_an_end_for_it(bob: Any) -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.user_task("approve", name="Manager approval", assignee="bob"),
        *bpmn.chain("start", "approve"),
    )
    form = bound(xml, "approve", {**APPROVAL, **rows("fields"), "add_path": "approved"})
    assert form.is_valid(), errors_of(form)

    payload = form.payload()

    assert [p["outcome"] for p in payload["paths"]] == ["approved"]
    assert payload["paths"][0]["end"] == {"id": "End_approve_approved", "name": "Approved"}


def test_the_panel_names_a_missing_approved_path_as_a_problem(bob: Any) -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.user_task("approve", name="Manager approval", assignee="bob"),
        bpmn.end("no", name="Rejected"),
        bpmn.flow("start", "approve"),
        bpmn.flow("approve", "no", outcome="rejected", name="Rejected"),
    )
    problems = [p.message for p in compile_bpmn(xml).errors if p.element_id == "approve"]

    assert problems == ["has paths for some decisions but none for Approved: add a path for Approved."]


def test_a_path_leaving_an_approval_offers_when_approved_and_takes_its_name(bob: Any) -> None:
    form = bound(_one_path(), "f_approve_order", {"name": "", "outcome": "approved"})
    assert form.is_valid(), errors_of(form)

    payload = form.payload()

    assert payload["attrs"] == {"baton:outcome": "approved"}
    assert payload["name"] == "Approved"
    assert [c[1] for c in form.fields["outcome"].choices] == [  # type: ignore[attr-defined]
        "Whatever is decided",
        "Approved",
        "Rejected",
        "Changes requested",
    ]
    named = bound(_one_path(), "f_approve_order", {"name": "Go ahead", "outcome": "rejected"})
    assert named.is_valid() and named.payload()["name"] == "Go ahead"


def test_approver_fields_are_rows_and_typed_values_for_later_blocks(bob: Any) -> None:
    field_rows = rows(
        "fields",
        {
            "name": "cost_centre",
            "label": "Cost centre",
            "type": "choice",
            "choices": "IT, Sales",
            "required": "on",
        },
        {"name": "quantity", "label": "Quantity", "type": "integer"},
    )
    form = bound(_one_path(), "approve", {**APPROVAL, **field_rows})
    assert form.is_valid(), errors_of(form)
    xml = _applied(_one_path(), form.payload())

    scope = context(xml, "order").scope

    centre, quantity = scope.get("cost_centre"), scope.get("quantity")
    assert centre is not None and quantity is not None
    assert (centre.type, centre.label, centre.choices, centre.origin) == (
        "string",
        "Cost centre",
        ("IT", "Sales"),
        "Manager approval",
    )
    assert quantity.type == "integer"
    assert scope.get("cost_centre.outcome") is None  # only the decision record has members
    assert scope.get("approval.outcome") is not None


def _new_approval(*fields: str) -> str:
    return bpmn.definitions(
        bpmn.start("start", *fields),
        '<bpmn:userTask id="approve" name="" />',
        *bpmn.chain("start", "approve"),
    )


def test_a_new_approval_goes_up_the_authority_chain_when_the_request_has_an_amount(bob: Any) -> None:
    ctx = context(_new_approval(bpmn.field("amount", "money"), bpmn.field("currency")), "approve")
    form = panels.form_class(ctx.element).for_element(ctx)
    assert form.initial["assignee_rule"] == "authority_chain"
    # Chosen by someone, or no amount to sign for: nothing is chosen for them.
    ctx = context(_new_approval(bpmn.field("item")), "approve")
    assert panels.form_class(ctx.element).for_element(ctx).initial["assignee_rule"] == ""
    ctx = context(_one_path().replace('baton:assignee="bob"', 'baton:assigneeRule="manager"'), "approve")
    assert panels.form_class(ctx.element).for_element(ctx).initial["assignee_rule"] == "manager"
