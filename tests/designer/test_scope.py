"""Variables offered at a block: those set before it, typed as the compiler types them."""

from __future__ import annotations

from pathlib import Path

import pytest

from designer.cel_builder import text_to_cel
from designer.diagram import Diagram, DiagramError
from designer.scope import Scope, scope_at
from orchestration.bpmn.compiler import compile_bpmn
from tests import bpmn

SHOWCASE = (Path(__file__).resolve().parents[2] / "orchestration/fixtures/purchase_approval.bpmn").read_text()


def scope(xml: str, element: str) -> Scope:
    return scope_at(Diagram.parse(xml), compile_bpmn(xml).declared, element)


def test_a_block_sees_the_start_form_and_what_earlier_blocks_set_but_nothing_later() -> None:
    types = scope(SHOWCASE, "Task_check_authority").types()
    assert types == {
        "initiator": "string",
        "instance_id": "string",
        "business_key": "string",
        "requested_on": "string",
        "request_number": "string",
        "item": "string",
        "amount": "number",
        "currency": "string",
        "justification": "string",
    }
    later = scope(SHOWCASE, "Task_notify_requester").types()
    assert later["within_authority"] == "boolean"
    assert later["approval"] == "map"
    assert later["order_id"] == "string"
    assert "order_id" not in scope(SHOWCASE, "Task_place_order").types()


def test_a_block_after_a_message_sees_what_the_message_carries_typed() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.message_field("order_id", required=True), name="Order in", message="order"),
        bpmn.wait_message(
            "paid", "payment", "order_id", bpmn.message_field("paid_amount", "number"), name="Paid"
        ),
        bpmn.script("calc", '{"settled": paid_amount > 0.0}'),
        bpmn.end(),
        *bpmn.chain("start", "paid", "calc", "end"),
        messages=("order", "payment"),
    )
    at = scope(xml, "calc")
    order_id, paid = at.get("order_id"), at.get("paid_amount")
    assert order_id is not None and (order_id.type, order_id.origin) == ("string", "Start: Order in")
    assert paid is not None and (paid.type, paid.origin) == ("number", "Paid")
    assert "paid_amount" not in scope(xml, "paid").types()


def test_a_path_sees_what_its_source_block_set() -> None:
    assert scope(SHOWCASE, "Flow_yes").types()["within_authority"] == "boolean"
    assert scope(SHOWCASE, "Flow_to_within_authority").types()["within_authority"] == "boolean"
    # The path into the check comes before it: the check's results are not there yet.
    assert "within_authority" not in scope(SHOWCASE, "Flow_to_check_authority").types()


def test_variables_carry_labels_choices_and_where_they_come_from() -> None:
    at = scope(SHOWCASE, "Gateway_approved")
    currency = at.get("currency")
    assert currency is not None
    assert currency.label == "Currency" and currency.choices == ("USD", "EUR", "GBP")
    assert currency.origin == "Start: Purchase request"
    limit = at.get("authority_limit")
    assert limit is not None and limit.type == "dyn" and limit.origin == "Check signature authority"
    assert [origin for origin, _ in at.groups()][:2] == ["Built in", "Start: Purchase request"]
    number = scope(SHOWCASE, "Task_notify_requester").get("request_number")
    assert number is not None and number.shown == "Request number (text)" and number.origin == "Built in"
    notify = scope(SHOWCASE, "Task_notify_requester")
    assert text_to_cel("Your request {{request_number}}", notify) == '"Your request " + request_number'


def test_an_approvals_decision_is_offered_member_by_member() -> None:
    at = scope(SHOWCASE, "Flow_approved")
    outcome = at.get("approval.outcome")
    assert outcome is not None and outcome.type == "string"
    assert outcome.choices == ("approved", "rejected", "changes_requested")
    assert at.get("approval.comment") is not None
    assert "approval.outcome" not in at.types()  # CEL sees the record, not its members
    assert scope(SHOWCASE, "Task_manager_approval").get("approval.outcome") is None


def test_set_data_types_come_from_the_compiler() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("amount", "number")),
        bpmn.script("calc", '{"total": amount * 1.2, "label": "big"}'),
        bpmn.end("end"),
        *bpmn.chain("start", "calc", "end"),
    )
    types = scope(xml, "end").types()
    assert types["total"] == "number" and types["label"] == "string"


def test_in_a_loop_a_block_sees_what_is_set_later_in_the_loop_but_not_its_own_results() -> None:
    xml = bpmn.definitions(
        bpmn.start("start"),
        bpmn.script("first", '{"x": 1}'),
        bpmn.script("second", '{"y": true}'),
        bpmn.gateway("again", default="f_out"),
        bpmn.end("end"),
        *bpmn.chain("start", "first", "second", "again"),
        bpmn.flow("again", "first", id="f_back", condition="y"),
        bpmn.flow("again", "end", id="f_out"),
    )
    types = scope(xml, "first").types()
    assert types["y"] == "boolean"
    assert "x" not in types


def test_the_process_sees_every_variable() -> None:
    types = scope(SHOWCASE, "purchase_approval").types()
    assert {"order_id", "approval", "within_authority", "amount"} <= set(types)


@pytest.mark.parametrize("xml", ["<bpmn:definitions", "", "<!DOCTYPE x><x/>"])
def test_unreadable_xml_is_refused_before_any_scope(xml: str) -> None:
    with pytest.raises(DiagramError):
        Diagram.parse(xml)


def test_a_diagram_with_errors_still_offers_its_variables() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("amount", "number")),
        bpmn.user_task("approve"),  # no assignee: an error
        bpmn.gateway("choose"),  # a decision without outgoing paths: errors
        *bpmn.chain("start", "approve", "choose"),
    )
    assert not compile_bpmn(xml).ok
    types = scope(xml, "choose").types()
    assert types["amount"] == "number" and types["approval"] == "map"


def test_inside_a_group_what_was_set_before_the_group_and_each_for_each_item_are_in_scope() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("amount", "number")),
        bpmn.script("lines", '{"lines": ["desk", "chair"]}'),
        bpmn.for_each(
            bpmn.group(
                "per_line",
                bpmn.start("in"),
                bpmn.for_each(bpmn.service("order", "http.request"), "[1, 2]", item="copy"),
                bpmn.end("out"),
                *bpmn.chain("in", "order", "out"),
            ),
            "lines",
            item="line",
        ),
        bpmn.end(),
        *bpmn.chain("start", "lines", "per_line", "end"),
    )
    inside = scope(xml, "order")
    assert {
        "amount": "number",
        "lines": "list",
        "line": "dyn",
        "copy": "dyn",
    }.items() <= inside.types().items()
    assert inside.get("line").origin == "For each: per_line"  # type: ignore[union-attr]
    assert "line" in scope(xml, "f_in_order").types()  # a path inside the Group
    assert "line" not in scope(xml, "end").types() and "copy" not in scope(xml, "per_line").types()


def test_values_are_grouped_under_block_names_never_ids_and_a_start_called_start_once() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("item")),
        '<bpmn:userTask id="Activity_1orb4ud"/>',
        '<bpmn:serviceTask id="Activity_0ai" baton:connector="ai.ask"/>',
        bpmn.script("calc", '{"done": true}'),
        bpmn.end(),
        *bpmn.chain("start", "Activity_1orb4ud", "Activity_0ai", "calc", "end"),
    )
    origins = [origin for origin, _ in scope(xml, "calc").groups()]
    assert origins == ["Built in", "Start", "Approval"]
