"""Blocks and paths named as the designer names them, and compiler problems said plainly."""

from __future__ import annotations

from orchestration.bpmn.names import block_names, plain
from tests import bpmn


def two_unnamed_approvals() -> str:
    return bpmn.definitions(
        bpmn.start("start", name="Request"),
        '<bpmn:userTask id="Activity_1x"/>',
        '<bpmn:userTask id="Activity_0a"/>',
        bpmn.gateway("Gateway_1g5k7yp", name="Approved?"),
        *bpmn.chain("start", "Activity_1x", "Activity_0a", "Gateway_1g5k7yp"),
    )


def test_unnamed_blocks_are_named_by_their_place_and_named_ones_by_their_name() -> None:
    names = block_names(two_unnamed_approvals())
    # Without a drawing, document order decides which Approval is the first.
    assert names["Activity_1x"] == "the first Approval"
    assert names["Activity_0a"] == "the second Approval"
    assert names["Gateway_1g5k7yp"] == "Decision “Approved?”"
    assert names["start"] == "Start “Request”"
    flow = next(k for k in names if names[k].startswith("the path from the first Approval"))
    assert names[flow] == "the path from the first Approval to the second Approval"


def test_the_drawing_orders_unnamed_blocks_left_to_right() -> None:
    xml = two_unnamed_approvals().replace(
        "</bpmn:definitions>",
        '<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"><bpmndi:BPMNPlane bpmnElement="flow">'
        '<bpmndi:BPMNShape bpmnElement="Activity_1x"><dc:Bounds x="500" y="0" width="100" height="80"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNShape bpmnElement="Activity_0a"><dc:Bounds x="100" y="0" width="100" height="80"/></bpmndi:BPMNShape>'
        "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>",
    )
    names = block_names(xml)
    assert (names["Activity_0a"], names["Activity_1x"]) == ("the first Approval", "the second Approval")


def test_a_compiler_message_loses_its_ids_and_file_format_words() -> None:
    names = block_names(two_unnamed_approvals())
    message = (
        "has no default flow: mark the outgoing flow to take when no condition holds; "
        'Approval (Activity_0a) and Decision "Approved?" (Gateway_1g5k7yp) set the variable'
    )
    assert plain(message, names) == (
        "has no path taken otherwise: mark the path out to take when no condition holds; "
        "the second Approval and Decision “Approved?” set the value"
    )
    assert plain("Approval (unknown_id) is odd", names) == "Approval (unknown_id) is odd"
    assert plain("the workflow overflows", names) == "the workflow overflows"


def test_formulas_connectors_and_other_workflows_are_said_in_the_palettes_words() -> None:
    said = {
        'Set data runs CEL maps such as {"total": 1}': 'Set data runs lists of values such as {"total": 1}',
        "the CEL expression is too long; an element is odd": "the formula is too long; a shape is odd",
        "needs a correlation key: an expression that picks the instance": (
            "needs a key matching the request: a formula that picks the request"
        ),
        "the connector answered; the payload is empty": "the automated action answered; the data sent is empty",
        "a Sub-process call waits until the sub-process ends": (
            "a Workflow call waits until the other workflow ends"
        ),
        "a subprocess holds elements": "a Group of steps holds shapes",
    }
    assert {message: plain(message, {}) for message in said} == said


def test_an_unnamed_ask_ai_step_is_called_by_its_palette_name_not_automated_step() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", name="Invoice in"),
        '<bpmn:serviceTask id="read" baton:connector="ai.ask"/>',
        '<bpmn:serviceTask id="post" baton:connector="http.request"/>',
        bpmn.end(),
        *bpmn.chain("start", "read", "post", "end"),
    )
    names = block_names(xml)
    assert (names["read"], names["post"]) == ("the Ask AI", "the Automated step")
    assert names[next(k for k in names if names[k].startswith("the path from Start"))] == (
        "the path from Start “Invoice in” to the Ask AI"
    )
