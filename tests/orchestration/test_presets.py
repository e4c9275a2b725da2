"""Connector declarations and presets: every built-in says what it needs and gives back, in plain words."""

from __future__ import annotations

import pytest

from orchestration.bpmn.compiler import compile_bpmn
from orchestration.connectors import presets, registry
from orchestration.connectors.base import ConnectorField
from orchestration.connectors.presets import Preset, register_preset
from orchestration.expressions import VARIABLE_TYPES
from tests import bpmn

BUILT_INS = ("procurement.create_order", "email", "esign.send_for_signature", "http.request")


@pytest.mark.parametrize("name", BUILT_INS)
def test_every_built_in_connector_declares_typed_fields_with_plain_labels(name: str) -> None:
    connector = registry.get(name)
    fields = [*connector.inputs, *connector.outputs]
    assert connector.outputs, "what it gives back is declared"
    for declared in fields:
        assert declared.type in VARIABLE_TYPES
        assert declared.label and declared.label[0].isupper() and "_" not in declared.label
        assert declared.help, f"{name}.{declared.name} has help for a business user"
    assert set(connector.example_output) >= {o.name for o in connector.outputs}


def test_the_procurement_order_needs_item_amount_currency_and_requester() -> None:
    connector = registry.get("procurement.create_order")
    assert [f.name for f in connector.inputs if f.required] == ["item", "amount", "currency", "requester"]
    assert next(f for f in connector.inputs if f.name == "amount").type == "number"


def test_the_signature_connector_offers_its_decline_code() -> None:
    assert registry.get("esign.send_for_signature").error_codes == {
        "DECLINED": "The other party declined to sign"
    }


def test_presets_come_first_grouped_then_the_connectors_themselves() -> None:
    found = presets.actions()
    labels = [a.label for a in found]
    assert {"Create order in ERP", "Post to Slack or Teams", "Create ticket"} <= set(labels)
    assert labels.index("Create ticket") < labels.index("HTTP request")
    ticket = presets.action_by_key("preset:tickets.create")
    assert ticket is not None and ticket.connector == "http.request" and ticket.asks_connection
    assert [f.name for f in ticket.inputs] == ["title", "description", "priority"]
    assert ticket.result_of("ticket_number") == "string(result.body)"
    erp = presets.action("procurement.create_order", "erp.create_order")
    assert erp is not None and erp.result_of("order_id") == "result.order_id"
    assert presets.action("http.request", "erp.create_order") is None  # a preset runs its own connector


def test_a_new_integration_is_a_preset_entry() -> None:
    preset = Preset(
        name="test.crm_note",
        label="Add a note in the CRM",
        description="Adds a note to the customer.",
        category="Customers",
        connector="http.request",
        config={"method": "POST", "url": "notes"},
        inputs=(ConnectorField("note", "Note", required=True, help="What to write."),),
        asks_connection=True,
    )
    register_preset(preset)
    try:
        assert presets.action_by_key("preset:test.crm_note") is not None
        with pytest.raises(ValueError, match="already taken"):
            register_preset(Preset(**{**preset.__dict__, "label": "Other"}))
    finally:
        presets.PRESETS.pop("test.crm_note")


def _order(inputs: dict[str, str], preset: str = "") -> str:
    return bpmn.definitions(
        bpmn.start("s", bpmn.field("item"), bpmn.field("cost", "number")),
        bpmn.service("order", "procurement.create_order", name="Place order", inputs=inputs, preset=preset),
        bpmn.end("e"),
        *bpmn.chain("s", "order", "e"),
    )


def test_publishing_refuses_a_missing_required_input_naming_the_block_and_the_input() -> None:
    result = compile_bpmn(_order({"item": "item", "currency": '"EUR"', "requester": "initiator"}))
    assert [str(e) for e in result.errors] == [
        'Automated step "Place order" (order): needs "Amount": choose where its value comes from.'
    ]
    ok = compile_bpmn(
        _order({"item": "item", "amount": "cost", "currency": '"EUR"', "requester": "initiator"})
    )
    assert ok.ok, ok.errors


def test_a_preset_is_checked_with_its_own_inputs_and_an_unknown_one_is_refused() -> None:
    result = compile_bpmn(_order({"item": "item"}, preset="erp.create_order"))
    assert {e.message for e in result.errors} == {
        'needs "Amount": choose where its value comes from.',
        'needs "Currency": choose where its value comes from.',
        'needs "Ordered for": choose where its value comes from.',
    }
    unknown = compile_bpmn(_order({"item": "item"}, preset="nope"))
    assert "unknown preset 'nope' for connector 'procurement.create_order'." in [
        e.message for e in unknown.errors
    ]


def test_a_later_condition_is_type_checked_against_a_kept_result() -> None:
    def with_condition(condition: str) -> str:
        return bpmn.definitions(
            bpmn.start("s", bpmn.field("title")),
            bpmn.service(
                "ticket",
                preset="tickets.create",
                properties={"method": "POST", "url": "https://desk.example.com/tickets"},
                inputs={"title": "title"},
                outputs={"ticket_number": "string(result.body)"},
                output_types={"ticket_number": "string"},
            ),
            bpmn.gateway("d", default="f_no"),
            bpmn.end("yes"),
            bpmn.end("no"),
            *bpmn.chain("s", "ticket", "d"),
            bpmn.flow("d", "yes", id="f_yes", condition=condition),
            bpmn.flow("d", "no", id="f_no"),
        )

    assert compile_bpmn(with_condition('ticket_number != ""')).ok
    refused = compile_bpmn(with_condition("ticket_number > 1000.0"))
    assert [e.element_id for e in refused.errors] == ["f_yes"]
