"""The BPMN compiler: what each block compiles to, and every problem it refuses."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from lxml import etree

from orchestration.bpmn import parse
from orchestration.bpmn.compiler import BATON_NS, CompileResult, Problem, compile_bpmn
from orchestration.bpmn.graph import GRAPH_FORMAT
from orchestration.connectors import registry
from orchestration.connectors.base import Connector
from tests import bpmn

FILES = Path(__file__).parent / "bpmn_files"
SHOWCASE = Path(__file__).parents[2] / "orchestration" / "fixtures" / "purchase_approval.bpmn"
SHOWCASE_CONNECTORS = ("approvals.check_authority", "procurement.create_order", "email", "http.request")

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:baton="http://baton.dev/schema/bpmn/1.0" '
    'id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">\n'
)
START = '<bpmn:startEvent id="start" name="Request"/>'
END = '<bpmn:endEvent id="end" name="Done"/>'


@pytest.fixture(autouse=True)
def connectors():
    """The showcase connectors, registered by their modules; a stand-in only where one is missing."""
    added = []
    for name in SHOWCASE_CONNECTORS:
        if not registry.is_registered(name):
            stand_in = type(name, (_StandIn,), {"name": name, "label": name})
            registry.register(stand_in)
            added.append(name)
    yield
    for name in added:
        registry._connectors.pop(name, None)


class _StandIn(Connector):
    def run(self, config, data, idempotency_key):
        return {}


def process(body: str, *, name: str = "Test", executable: str = "true") -> str:
    return f'{HEADER}<bpmn:process id="test" name="{name}" isExecutable="{executable}">\n{body}\n</bpmn:process>\n</bpmn:definitions>'


def flow(flow_id: str, source: str, target: str, condition: str | None = None, name: str = "") -> str:
    label = f' name="{name}"' if name else ""
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}"{label} sourceRef="{source}" targetRef="{target}"/>'
    return (
        f'<bpmn:sequenceFlow id="{flow_id}"{label} sourceRef="{source}" targetRef="{target}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>"
    )


def chain(*elements: str) -> str:
    """start -> elements (each with id e1, e2, ...) -> end, connected in order."""
    ids = ["start", *(f"e{i}" for i in range(1, len(elements) + 1)), "end"]
    flows = [flow(f"f{i}", a, b) for i, (a, b) in enumerate(itertools.pairwise(ids))]
    return "\n".join([START, *elements, END, *flows])


AMOUNT_FORM = (
    '<bpmn:startEvent id="start" name="Request"><bpmn:extensionElements>'
    '<baton:formField name="amount" label="Amount" type="number" required="true"/>'
    "</bpmn:extensionElements></bpmn:startEvent>"
)


def with_amount(body: str) -> str:
    return body.replace(START, AMOUNT_FORM)


def compiled(xml: str | bytes) -> CompileResult:
    result = compile_bpmn(xml)
    assert result.ok, [str(e) for e in result.errors]
    assert result.graph is not None
    return result


def errors_of(xml: str | bytes) -> list[str]:
    result = compile_bpmn(xml)
    assert not result.ok
    assert result.graph is None
    return [str(e) for e in result.errors]


def node_config(xml: str, node_id: str = "e1") -> dict:
    graph = compiled(xml).graph
    assert graph is not None
    return graph["nodes"][node_id]["config"]


# --- the showcase and real files


def test_showcase_fixture_compiles_without_errors():
    result = compiled(SHOWCASE.read_bytes())
    graph = result.graph
    assert graph is not None
    assert (graph["format"], graph["process_id"], graph["name"]) == (
        GRAPH_FORMAT,
        "purchase_approval",
        "Purchase approval",
    )
    assert graph["start_nodes"] == ["StartEvent_request"]
    assert graph["nodes"]["Gateway_merge_approval"]["config"]["role"] == "merge"
    assert graph["nodes"]["Task_manager_approval"]["config"]["assignee_rule"] == "authority_chain"
    assert result.warnings == []


def test_showcase_fixture_types_its_variables():
    graph = compiled(SHOWCASE.read_bytes()).graph
    assert graph is not None
    variables = graph["variables"]
    assert variables["amount"] == "number"
    assert variables["currency"] == "string"
    assert variables["within_authority"] == "boolean"
    assert variables["authority_limit"] == "dyn"
    assert variables["approval"] == "map"  # set by both Set data and the Approval, consistently
    assert variables["order_id"] == "string"
    assert variables["initiator"] == "string"


def test_showcase_fixture_has_a_diagram_shape_for_every_element():
    root = etree.fromstring(SHOWCASE.read_bytes())
    di = "http://www.omg.org/spec/BPMN/20100524/DI"
    drawn = {el.get("bpmnElement") for el in root.iter(f"{{{di}}}BPMNShape", f"{{{di}}}BPMNEdge")}
    graph = compiled(SHOWCASE.read_bytes()).graph
    assert graph is not None
    assert set(graph["nodes"]) | set(graph["flows"]) <= drawn


def test_showcase_graph_is_plain_json():
    graph = compiled(SHOWCASE.read_bytes()).graph
    assert json.loads(json.dumps(graph)) == graph


def test_camunda_modeler_file_compiles_with_a_warning_listing_vendor_settings():
    result = compiled((FILES / "camunda_invoice.bpmn").read_bytes())
    assert len(result.warnings) == 1
    warning = str(result.warnings[0])
    for setting in (
        "camunda:asyncBefore",
        "camunda:formKey",
        "camunda:inputOutput",
        "camunda:historyTimeToLive",
    ):
        assert setting in warning
    assert (
        "camunda:inputParameter" not in warning
    )  # inside camunda:inputOutput: listed once, by its outer element
    assert result.graph is not None
    assert result.graph["warnings"] == [warning]


def test_camunda_modeler_file_keeps_baton_settings():
    graph = compiled((FILES / "camunda_invoice.bpmn").read_bytes()).graph
    assert graph is not None
    transfer = graph["nodes"]["Activity_prepare_transfer"]["config"]
    assert transfer["properties"] == {"url": "https://bank.example.com/api/transfers", "method": "POST"}
    assert (transfer["retries"], transfer["retry_backoff"]) == (5, 10.0)
    assert graph["nodes"]["Activity_approve_invoice"]["name"] == "Approve invoice"  # label line break folded


def test_bpmnio_file_with_collaboration_and_lanes_compiles():
    graph = compiled((FILES / "bpmnio_lanes.bpmn").read_bytes()).graph
    assert graph is not None
    assert graph["name"] == "Employee onboarding"  # the participant's name: the process has none
    assert graph["nodes"]["Activity_contract"]["config"]["groups"] == ["HR"]
    assert graph["nodes"]["Activity_laptop"]["config"]["groups"] == ["IT"]
    assert graph["nodes"]["Gateway_split"]["config"]["role"] == "split"
    assert graph["nodes"]["Gateway_join"]["config"]["role"] == "join"


def test_a_file_with_any_of_these_paths_and_a_deadline_compiles():
    result = compile_bpmn((FILES / "unsupported_elements.bpmn").read_bytes())
    assert result.ok, [str(e) for e in result.errors]
    nodes = result.graph["nodes"]  # type: ignore[index]
    assert nodes["Event_legal_timeout"]["kind"] == "boundary"
    assert nodes["Gateway_reviews"]["kind"] == "inclusive"


def test_elements_baton_still_does_not_run_are_refused_by_name():
    xml = process(
        chain(
            '<bpmn:complexGateway id="e1" name="Complex"/>',
            '<bpmn:transaction id="e2" name="Payment"/>',
        )
    )
    assert errors_of(xml) == [
        'Element "Complex" (e1) is a bpmn:complexGateway, which Baton does not run; '
        "use a Decision, or a Parallel split.",
        'Element "Payment" (e2) is a bpmn:transaction, which Baton does not run; '
        'use a Group with an "If it fails" path.',
    ]


# --- loading safely


def test_billion_laughs_is_refused_without_expanding_entities():
    result = compile_bpmn((FILES / "billion_laughs.bpmn").read_bytes())
    assert [str(e) for e in result.errors] == [
        "The file contains a DOCTYPE declaration, which Baton refuses."
    ]


def test_external_entity_is_refused():
    result = compile_bpmn((FILES / "external_entity.bpmn").read_text())
    assert "DOCTYPE" in str(result.errors[0])


@pytest.mark.parametrize("name", ["billion_laughs.bpmn", "external_entity.bpmn"])
def test_parser_alone_refuses_entities_should_the_doctype_check_be_bypassed(name, monkeypatch):
    monkeypatch.setattr(parse, "_mentions_doctype", lambda data: False)
    root, problem = parse.load((FILES / name).read_bytes())
    assert root is None
    assert problem is not None
    assert "root:" not in problem.message


def test_utf16_doctype_is_refused():
    xml = (FILES / "external_entity.bpmn").read_text().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    result = compile_bpmn(xml.encode("utf-16"))
    assert "DOCTYPE" in str(result.errors[0])


def test_file_over_the_size_cap_is_refused():
    padding = "<!--" + "x" * parse.MAX_SIZE + "-->"
    errors = errors_of(process(chain()) + padding)
    assert errors == ["The file is larger than 2 MB."]


def test_malformed_xml_is_refused_naming_the_line():
    xml = HEADER + '<bpmn:process id="p">\n  <bpmn:startEvent id="s">\n</bpmn:process>\n</bpmn:definitions>'
    (error,) = compile_bpmn(xml).errors
    assert error.line == 5
    assert str(error) == (
        "The file is not well-formed XML: Opening and ending tag mismatch: startEvent line 4 and process (line 5)."
    )


@pytest.mark.parametrize("xml", ["", "   ", b"\x00\x01garbage", "<html><body/></html>"])
def test_input_that_is_not_bpmn_is_refused_without_raising(xml):
    result = compile_bpmn(xml)
    assert not result.ok
    assert result.graph is None


def test_text_with_an_encoding_declaration_compiles():
    assert compile_bpmn(process(chain())).ok


def test_file_without_a_process_is_refused():
    assert errors_of(HEADER + "</bpmn:definitions>") == ["The file has no process."]


# --- choosing the process


def test_lone_process_runs_even_if_not_executable():
    assert compile_bpmn(process(chain(), executable="false")).ok


def test_executable_process_is_chosen_among_several():
    other = '<bpmn:process id="other" isExecutable="false"><bpmn:task id="t"/></bpmn:process>'
    xml = process(chain()).replace("</bpmn:definitions>", other + "</bpmn:definitions>")
    graph = compiled(xml).graph
    assert graph is not None
    assert graph["process_id"] == "test"


def test_several_processes_none_executable_are_refused():
    other = '<bpmn:process id="other" isExecutable="false"/>'
    xml = process(chain(), executable="false").replace("</bpmn:definitions>", other + "</bpmn:definitions>")
    assert "none is executable" in errors_of(xml)[0]


def test_several_executable_processes_are_refused():
    other = '<bpmn:process id="other" isExecutable="true"/>'
    xml = process(chain()).replace("</bpmn:definitions>", other + "</bpmn:definitions>")
    assert "several executable processes" in errors_of(xml)[0]


# --- problems name their element


def test_problem_reads_as_a_sentence_about_its_element():
    problem = Problem("gw_limit", "Within limit?", "no default flow", element_type="Decision")
    assert str(problem) == 'Decision "Within limit?" (gw_limit): no default flow'


def test_baton_namespace_comes_from_the_moddle_descriptor():
    descriptor = json.loads((Path(parse.__file__).parent / "baton.json").read_text())
    assert BATON_NS == descriptor["uri"] == "http://baton.dev/schema/bpmn/1.0"
    assert descriptor["prefix"] == "baton"


def test_unknown_baton_setting_is_a_warning():
    xml = process(chain('<bpmn:userTask id="e1" baton:assignee="ann" baton:assigne="bob"/>'))
    result = compiled(xml)
    assert "baton:assigne (on e1)" in str(result.warnings[0])


# --- refused elements


def test_plain_task_is_refused_suggesting_an_automated_step():
    errors = errors_of(process(chain('<bpmn:task id="Task_1" name="Check stock"/>').replace("e1", "Task_1")))
    assert errors == [
        'Element "Check stock" (Task_1) is a bpmn:task, which Baton does not run; use an Automated step.'
    ]


def test_refused_element_does_not_make_the_steps_after_it_unreachable():
    errors = errors_of(
        process(chain('<bpmn:subProcess id="e1"/>', '<bpmn:userTask id="e2" baton:assignee="a"/>'))
    )
    assert len(errors) == 1


def test_signal_start_is_refused():
    xml = process(chain()).replace(
        START, '<bpmn:startEvent id="start"><bpmn:signalEventDefinition/></bpmn:startEvent>'
    )
    assert "is a signal start event" in errors_of(xml)[0]


def test_escalation_end_is_refused():
    xml = process(chain()).replace(
        END, '<bpmn:endEvent id="end"><bpmn:escalationEventDefinition/></bpmn:endEvent>'
    )
    assert "is a escalation end event" in errors_of(xml)[0]


def test_a_for_each_without_its_list_is_refused_in_plain_words():
    xml = process(
        chain(
            '<bpmn:userTask id="e1" baton:assignee="a"><bpmn:multiInstanceLoopCharacteristics/></bpmn:userTask>'
        )
    )
    assert "runs For each item, but of which list? Choose the list it goes through." in errors_of(xml)[0]


def test_a_loop_while_a_condition_holds_is_refused():
    xml = process(
        chain('<bpmn:userTask id="e1" baton:assignee="a"><bpmn:standardLoopCharacteristics/></bpmn:userTask>')
    )
    assert "repeats while a condition holds (a loop), which Baton does not run" in errors_of(xml)[0]


def test_artifacts_are_ignored():
    artifacts = (
        '<bpmn:textAnnotation id="note"><bpmn:text>why</bpmn:text></bpmn:textAnnotation>'
        '<bpmn:association id="assoc" sourceRef="start" targetRef="note"/>'
        '<bpmn:dataObject id="data"/><bpmn:dataObjectReference id="dataref" dataObjectRef="data"/>'
        '<bpmn:group id="group"/><bpmn:documentation>about</bpmn:documentation>'
    )
    assert compile_bpmn(process(chain() + artifacts)).ok


def test_duplicate_ids_are_refused():
    errors = errors_of(
        process(chain('<bpmn:userTask id="e1" baton:assignee="a"/>', '<bpmn:userTask id="e1"/>'))
    )
    assert any('"e1" is used by more than one element' in e for e in errors)


# --- Start


def test_start_form_fields_compile_with_types_bounds_and_defaults():
    start = (
        '<bpmn:startEvent id="start"><bpmn:extensionElements>'
        '<baton:formField name="amount" label="Amount" type="number" required="true" min="0.01" max=""/>'
        '<baton:formField name="currency" type="choice" choices="USD, EUR" default="EUR"/>'
        '<baton:formField name="rush" label="Rush" type="boolean" default="false"/>'
        '<baton:formField name="count" type="integer" default="3"/>'
        "</bpmn:extensionElements></bpmn:startEvent>"
    )
    graph = compiled(process(chain()).replace(START, start)).graph
    assert graph is not None
    fields = graph["nodes"]["start"]["config"]["fields"]
    assert fields[0] == {
        "name": "amount",
        "label": "Amount",
        "type": "number",
        "required": True,
        "choices": [],
        "min": 0.01,
        "max": None,
    }
    assert (fields[1]["label"], fields[1]["choices"], fields[1]["default"]) == (
        "currency",
        ["USD", "EUR"],
        "EUR",
    )
    assert fields[2]["default"] is False
    assert fields[3]["default"] == 3
    assert {k: graph["variables"][k] for k in ("amount", "currency", "rush", "count")} == {
        "amount": "number",
        "currency": "string",
        "rush": "boolean",
        "count": "integer",
    }


def test_plain_start_has_no_trigger():
    assert node_config(process(chain()), "start") == {
        "trigger": "none",
        "cron": "",
        "message": "",
        "fields": [],
        "inputs": {},
        "message_fields": [],
    }


def _timer_start(timer: str, element: str = "timeCycle") -> str:
    start = (
        '<bpmn:startEvent id="start" name="Every morning"><bpmn:timerEventDefinition>'
        f"<bpmn:{element}>{timer}</bpmn:{element}></bpmn:timerEventDefinition></bpmn:startEvent>"
    )
    return process(chain()).replace(START, start)


def test_timer_start_compiles_its_cron():
    config = node_config(_timer_start("0 9 * * 1-5"), "start")
    assert (config["trigger"], config["cron"]) == ("timer", "0 9 * * 1-5")
    assert config["timer"] == {"kind": "cycle", "text": "0 9 * * 1-5"}


@pytest.mark.parametrize("cycle", ["R/PT1H", "R3/2026-01-01T09:00:00Z/P1D", "R/2026-01-01T09:00:00Z/PT2H"])
def test_timer_start_accepts_an_iso_8601_cycle_as_camunda_writes_it(cycle):
    config = node_config(_timer_start(cycle), "start")
    # "cron" stays empty: a version published before ISO cycles read only that key.
    assert (config["trigger"], config["cron"], config["timer"]) == (
        "timer",
        "",
        {"kind": "cycle", "text": cycle},
    )


def test_timer_start_on_a_date_starts_once():
    config = node_config(_timer_start("2999-01-01T09:00:00+01:00", "timeDate"), "start")
    assert config["timer"] == {"kind": "date", "text": "2999-01-01T09:00:00+01:00"}


def test_timer_start_on_a_date_gone_by_is_worth_a_warning():
    result = compiled(_timer_start("2020-01-01T09:00:00Z", "timeDate"))
    assert result.ok
    assert [p.message for p in result.warnings] == [
        "starts once, on 1 Jan 2020, 09:00 UTC, which has passed: it will not start a request."
    ]


@pytest.mark.parametrize(
    ("timer", "element", "why"),
    [
        (
            "0 99 * * *",
            "timeCycle",
            '"0 99 * * *" is not a valid cron expression (minute hour day month weekday).',
        ),
        (
            "0 0 9 * * 1-5",
            "timeCycle",
            '"0 0 9 * * 1-5" has 6 fields; cron here has 5: minute hour day month weekday.',
        ),
        ("R/PT0S", "timeCycle", '"R/PT0S" repeats every 0 seconds; the shortest cycle is 1 minute.'),
        (
            "every day",
            "timeCycle",
            '"every day" is not a repeating cycle such as R/PT1H, '
            "R3/2026-01-01T09:00:00Z/P1D or a cron expression such as 0 9 * * 1-5.",
        ),
        ("tomorrow", "timeDate", '"tomorrow" is not an ISO 8601 date and time such as 2026-01-01T09:00:00Z.'),
        (
            "PT1H",
            "timeDuration",
            'waits a duration ("PT1H"), which a Start cannot: give it a cycle such as '
            "R/PT1H or 0 9 * * 1-5 (cron), or a date and time to start once.",
        ),
        (
            "",
            "timeCycle",
            "a scheduled Start needs a schedule: a cycle such as R/PT1H or 0 9 * * 1-5 (cron), "
            "or a date and time to start once.",
        ),
    ],
)
def test_timer_start_with_a_schedule_baton_cannot_run_is_refused_naming_the_block(timer, element, why):
    assert errors_of(_timer_start(timer, element)) == [f'Start "Every morning" (start): {why}']


def test_message_start_compiles_the_message_name_and_lists_it():
    start = '<bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="Msg_1"/></bpmn:startEvent>'
    xml = process(chain()).replace(START, start)
    xml = xml.replace(
        "</bpmn:definitions>", '<bpmn:message id="Msg_1" name="order_received"/></bpmn:definitions>'
    )
    graph = compiled(xml).graph
    assert graph is not None
    assert graph["nodes"]["start"]["config"]["trigger"] == "message"
    assert graph["nodes"]["start"]["config"]["message"] == "order_received"
    assert graph["messages"] == ["order_received"]


def test_message_start_naming_an_undefined_message_is_refused():
    start = '<bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="Nope"/></bpmn:startEvent>'
    assert (
        'message "Nope", which the file does not define'
        in errors_of(process(chain()).replace(START, start))[0]
    )


def _on_message(*fields: str, after: str = '{"big": quantity > 10}', wait: tuple[str, ...] = ()) -> str:
    """A message Start "Order in" carrying ``fields``, then Set data ``after`` (and a Wait carrying ``wait``)."""
    steps = [bpmn.wait_message("paid", "payment", "order_id", *wait, name="Paid")] if wait else []
    ids = ["start", *(["paid"] if wait else []), "calc", "end"]
    return bpmn.definitions(
        bpmn.start("start", *fields, name="Order in", message="order"),
        *steps,
        bpmn.script("calc", after, name="Work out"),
        bpmn.end(),
        *bpmn.chain(*ids),
        messages=("order", "payment"),
    )


def test_message_start_types_what_the_message_carries_for_the_blocks_after_it():
    graph = compiled(
        _on_message(
            bpmn.message_field("quantity", "integer", required=True),
            bpmn.message_field("order"),
            bpmn.message_field("lines", "list"),
            bpmn.message_field("customer", "map"),
            after='{"big": quantity > 10 && size(lines) > 0, "who": customer.name}',
        )
    ).graph
    assert graph is not None
    assert graph["nodes"]["start"]["config"]["message_fields"][0] == {
        "name": "quantity",
        "label": "quantity",
        "type": "integer",
        "required": True,
        "choices": [],
    }
    assert graph["nodes"]["start"]["config"]["fields"] == []
    variables = graph["variables"]
    assert (variables["quantity"], variables["order"], variables["lines"], variables["customer"]) == (
        "integer",
        "string",
        "list",
        "map",
    )
    assert variables["big"] == "boolean"


def test_expression_reading_what_the_message_does_not_carry_is_refused():
    errors = errors_of(_on_message(bpmn.message_field("quantity", "integer"), after='{"big": price > 10}'))
    assert len(errors) == 1 and "price" in errors[0] and "(calc)" in errors[0]


def test_expression_comparing_a_message_field_with_the_wrong_type_is_refused():
    errors = errors_of(
        _on_message(bpmn.message_field("quantity", "integer"), after='{"big": quantity > "10"}')
    )
    assert len(errors) == 1 and "(calc)" in errors[0]


def test_message_field_of_an_unknown_type_is_refused_naming_the_block():
    assert errors_of(_on_message(bpmn.message_field("quantity", "decimal"), after='{"x": 1}')) == [
        'Start "Order in" (start): message field "quantity" has unknown type "decimal"; '
        "use one of string, number, integer, boolean, date, map, list."
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            (bpmn.message_field("quantity"), bpmn.message_field("quantity")),
            'two message fields named "quantity"',
        ),
        ((bpmn.message_field("2nd"),), 'message field "2nd" is not a valid variable name'),
        ((bpmn.message_field("initiator"),), 'message field "initiator" would overwrite a built-in variable'),
        ((bpmn.message_field("payload"),), 'message field "payload" is reserved'),
        ((bpmn.field("note"), bpmn.message_field("quantity")), "has both form fields and message fields"),
    ],
)
def test_invalid_message_fields_are_refused(fields, message):
    errors = errors_of(_on_message(*fields, after='{"x": 1}'))
    assert len(errors) == 1 and message in errors[0], errors


def test_only_a_start_on_a_message_lists_what_a_message_carries():
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.message_field("quantity"), name="Form"),
        bpmn.end(),
        bpmn.flow("start", "end"),
    )
    assert errors_of(xml) == [
        'Start "Form" (start): lists what a message carries, but it does not start on a message.'
    ]


def test_message_start_with_form_fields_only_still_compiles_them():
    graph = compiled(_on_message(bpmn.field("quantity", "integer"))).graph
    assert graph is not None
    assert [f["name"] for f in graph["nodes"]["start"]["config"]["fields"]] == ["quantity"]
    assert graph["nodes"]["start"]["config"]["message_fields"] == []


def test_wait_for_a_message_types_what_it_carries_for_the_blocks_after_it():
    xml = _on_message(
        bpmn.message_field("order_id", required=True),
        bpmn.message_field("quantity", "integer"),
        wait=(
            bpmn.message_field("paid_amount", "number", required=True),
            bpmn.message_field("paid_on", "date"),
        ),
        after='{"big": paid_amount > 10.0 && paid_on >= "2026-01-01"}',
    )
    graph = compiled(xml).graph
    assert graph is not None
    assert [f["name"] for f in graph["nodes"]["paid"]["config"]["message_fields"]] == [
        "paid_amount",
        "paid_on",
    ]
    assert (graph["variables"]["paid_amount"], graph["variables"]["paid_on"]) == ("number", "date")


def test_wait_reading_what_its_message_does_not_carry_is_refused():
    xml = _on_message(
        bpmn.message_field("order_id"),
        wait=(bpmn.message_field("paid_amount", "number"),),
        after='{"big": paid_total > 10.0}',
    )
    errors = errors_of(xml)
    assert len(errors) == 1 and "paid_total" in errors[0], errors


def test_webhook_inputs_read_the_payload_and_declare_variables():
    start = (
        '<bpmn:startEvent id="start"><bpmn:extensionElements>'
        '<baton:input name="order_ref" expression="payload.ref"/>'
        '<baton:input name="size" expression="size(payload.items)"/>'
        "</bpmn:extensionElements></bpmn:startEvent>"
    )
    graph = compiled(process(chain()).replace(START, start)).graph
    assert graph is not None
    assert graph["nodes"]["start"]["config"]["inputs"] == {
        "order_ref": "payload.ref",
        "size": "size(payload.items)",
    }
    assert (graph["variables"]["order_ref"], graph["variables"]["size"]) == ("dyn", "integer")


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ('<baton:formField name="2nd" type="string"/>', 'form field "2nd" needs a name'),
        ('<baton:formField name="a" type="colour"/>', 'unknown type "colour"'),
        ('<baton:formField name="a" type="choice"/>', "lists no choices"),
        ('<baton:formField name="a" type="number" default="lots"/>', 'default "lots"'),
        ('<baton:formField name="a" type="choice" choices="x,y" default="z"/>', 'default "z"'),
        ('<baton:formField name="a" type="number" min="5" max="1"/>', "min 5 above max 1"),
        ('<baton:formField name="a" type="string" required="maybe"/>', "use true or false"),
        ('<baton:formField name="a"/><baton:formField name="a"/>', 'two form fields named "a"'),
        ('<baton:formField name="a" type="money"/>', 'needs a text or choice field "currency"'),
        (
            '<baton:formField name="a" type="money" currency="cur"/><baton:formField name="cur" type="integer"/>',
            'needs a text or choice field "cur"',
        ),
        (
            '<baton:formField name="a" type="money"/><baton:formField name="currency" type="choice" choices="USD,XYZ"/>',
            "lists XYZ: not ISO 4217",
        ),
    ],
)
def test_invalid_form_field_is_refused(field, message):
    start = f'<bpmn:startEvent id="start"><bpmn:extensionElements>{field}</bpmn:extensionElements></bpmn:startEvent>'
    errors = errors_of(process(chain()).replace(START, start))
    assert len(errors) == 1
    assert message in errors[0]


def test_a_money_field_is_a_number_to_expressions_and_names_its_currency_field():
    fields = (
        '<baton:formField name="total" type="money" currency="cur"/>'
        '<baton:formField name="cur" type="choice" choices="USD,JPY"/>'
    )
    start = f'<bpmn:startEvent id="start"><bpmn:extensionElements>{fields}</bpmn:extensionElements></bpmn:startEvent>'
    result = compile_bpmn(process(chain()).replace(START, start))

    assert result.graph is not None
    assert result.graph["variables"]["total"] == "number"
    assert result.graph["nodes"]["start"]["config"]["fields"][0]["currency"] == "cur"


# --- End


def test_end_compiles_its_outcome():
    xml = process(chain()).replace(END, '<bpmn:endEvent id="end" baton:outcome="approved"/>')
    assert node_config(xml, "end") == {"outcome": "approved"}


# --- Approval


def test_approval_with_an_assignee_defaults_to_the_user_rule():
    config = node_config(process(chain('<bpmn:userTask id="e1" baton:assignee="ann"/>')))
    assert config == {
        "assignee_rule": "user",
        "assignee": "ann",
        "assignee_expression": "",
        "groups": [],
        "due_in": "",
        "reminder_in": "",
        "escalate_to": "",
        "quorum": "any",
        "amount_expression": "",
        "result_variable": "approval",
        "fields": [],
        "outcomes": {},
    }


def test_approval_with_candidate_groups_defaults_to_the_group_rule():
    config = node_config(
        process(chain('<bpmn:userTask id="e1" baton:candidateGroups="Finance, Legal" baton:quorum="all"/>'))
    )
    assert (config["assignee_rule"], config["groups"], config["quorum"]) == (
        "group",
        ["Finance", "Legal"],
        "all",
    )


def test_approval_without_assignee_is_refused():
    errors = errors_of(process(chain('<bpmn:userTask id="e1" name="Sign off"/>')))
    assert errors == [
        'Approval "Sign off" (e1): has no assignee: choose a user, a group, the requester\'s manager, '
        "the authority chain, or a person or group named in the request's data."
    ]


def test_approval_in_a_lane_goes_to_the_lane_group():
    lanes = (
        '<bpmn:laneSet id="ls"><bpmn:lane id="lane" name="Purchasing">'
        "<bpmn:flowNodeRef>e1</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
    )
    config = node_config(process(lanes + chain('<bpmn:userTask id="e1"/>')))
    assert (config["assignee_rule"], config["groups"]) == ("group", ["Purchasing"])


def test_approval_for_the_manager_needs_no_names():
    config = node_config(process(chain('<bpmn:userTask id="e1" baton:assigneeRule="manager"/>')))
    assert config["assignee_rule"] == "manager"


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ('baton:assigneeRule="boss"', 'unknown assignee rule "boss"'),
        ('baton:assigneeRule="user"', "is assigned to a user but names none"),
        ('baton:assigneeRule="group"', "is assigned to a group but names none"),
        ('baton:assignee="a" baton:dueIn="2 days"', 'dueIn "2 days" is not an ISO 8601 duration'),
        ('baton:assignee="a" baton:reminderIn="P"', 'reminderIn "P" is not an ISO 8601 duration'),
        ('baton:assignee="a" baton:quorum="most"', 'quorum "most"'),
        ('baton:assignee="a" baton:resultVariable="my result"', 'result variable "my result" is not a valid'),
    ],
)
def test_invalid_approval_setting_is_refused(attrs, message):
    errors = errors_of(process(chain(f'<bpmn:userTask id="e1" {attrs}/>')))
    assert len(errors) == 1
    assert message in errors[0]


@pytest.mark.parametrize("duration", ["P2D", "PT4H", "P1W", "P3DT4H5M6.5S", "PT30M"])
def test_approval_accepts_iso_durations(duration):
    config = node_config(
        process(chain(f'<bpmn:userTask id="e1" baton:assignee="a" baton:dueIn="{duration}"/>'))
    )
    assert config["due_in"] == duration


def test_authority_chain_compares_the_amount_variable_by_default():
    config = node_config(
        with_amount(process(chain('<bpmn:userTask id="e1" baton:assigneeRule="authority_chain"/>')))
    )
    assert config["amount_expression"] == "amount"


def test_authority_chain_without_an_amount_is_refused():
    errors = errors_of(
        process(chain('<bpmn:userTask id="e1" name="Sign" baton:assigneeRule="authority_chain"/>'))
    )
    assert errors == [
        'Approval "Sign" (e1): follows the authority chain but has no amount to compare with approval limits.'
    ]


def test_approval_amount_that_is_not_a_number_is_refused():
    xml = process(
        chain('<bpmn:userTask id="e1" baton:assigneeRule="authority_chain" baton:amount="initiator"/>')
    )
    assert "amount gives a string; it must give a number" in errors_of(xml)[0]


def test_approval_result_is_a_map_variable():
    graph = compiled(
        process(chain('<bpmn:userTask id="e1" baton:assignee="a" baton:resultVariable="review"/>'))
    ).graph
    assert graph is not None
    assert graph["variables"]["review"] == "map"


def test_escalation_without_due_date_is_a_warning():
    result = compiled(
        process(chain('<bpmn:userTask id="e1" baton:assignee="a" baton:escalateTo="Finance"/>'))
    )
    assert "never escalates" in str(result.warnings[0])


# --- Automated step and Notify

# An HTTP step publishing accepts (it names an address); the tests around it vary the rest.
HTTP_STEP = (
    '<bpmn:serviceTask id="e1" baton:connector="http.request"><bpmn:extensionElements>'
    '<baton:property name="url" value="https://erp.example.invalid/"/></bpmn:extensionElements></bpmn:serviceTask>'
)


def test_automated_step_compiles_connector_settings():
    task = (
        '<bpmn:serviceTask id="e1" baton:connector="http.request" baton:retries="0" baton:retryBackoff="1.5">'
        "<bpmn:extensionElements>"
        '<baton:property name="url" value="https://erp.example.com/orders"/>'
        '<baton:input name="total" expression="amount * 1.2"/>'
        '<baton:output name="order_id" expression="result.id" type="string"/>'
        '<baton:output name="raw" expression="result"/>'
        "</bpmn:extensionElements></bpmn:serviceTask>"
    )
    graph = compiled(with_amount(process(chain(task)))).graph
    assert graph is not None
    assert graph["nodes"]["e1"]["kind"] == "service_task"
    assert graph["nodes"]["e1"]["config"] == {
        "connector": "http.request",
        "properties": {"url": "https://erp.example.com/orders"},
        "inputs": {"total": "amount * 1.2"},
        "outputs": {"order_id": "result.id", "raw": "result"},
        "retries": 0,
        "retry_backoff": 1.5,
    }
    assert (graph["variables"]["order_id"], graph["variables"]["raw"]) == ("string", "dyn")


def test_automated_step_retries_three_times_by_default():
    config = node_config(process(chain(HTTP_STEP)))
    assert (config["retries"], config["retry_backoff"]) == (3, 2.0)


def test_unknown_connector_is_refused_naming_it():
    errors = errors_of(process(chain('<bpmn:serviceTask id="e1" name="Sync" baton:connector="sap.magic"/>')))
    assert errors == ["Automated step \"Sync\" (e1): unknown connector 'sap.magic'."]


def test_automated_step_without_connector_is_refused():
    assert "does nothing yet" in errors_of(process(chain('<bpmn:serviceTask id="e1"/>')))[0]


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ('baton:retries="-1"', "retries must be a whole number"),
        ('baton:retries="1.5"', "retries must be a whole number"),
        ('baton:retries="many"', 'retries "many" is not a number'),
        ('baton:retryBackoff="-2"', "retryBackoff must be a number of seconds"),
    ],
)
def test_invalid_retry_setting_is_refused(attrs, message):
    errors = errors_of(process(chain(HTTP_STEP.replace("<bpmn:serviceTask", f"<bpmn:serviceTask {attrs}"))))
    assert len(errors) == 1
    assert message in errors[0]


def test_notify_runs_the_email_connector_by_default():
    task = (
        '<bpmn:sendTask id="e1"><bpmn:extensionElements>'
        '<baton:input name="to" expression="initiator"/>'
        '<baton:input name="subject" expression="&quot;Hello &quot; + initiator"/>'
        "</bpmn:extensionElements></bpmn:sendTask>"
    )
    graph = compiled(process(chain(task))).graph
    assert graph is not None
    assert graph["nodes"]["e1"]["kind"] == "send_task"
    assert graph["nodes"]["e1"]["config"]["connector"] == "email"
    assert graph["nodes"]["e1"]["config"]["inputs"]["subject"] == '"Hello " + initiator'


def test_input_reading_result_is_refused():
    task = (
        '<bpmn:serviceTask id="e1" baton:connector="http.request"><bpmn:extensionElements>'
        '<baton:property name="url" value="https://erp.example.invalid/"/>'
        '<baton:input name="x" expression="result.id"/></bpmn:extensionElements></bpmn:serviceTask>'
    )
    errors = errors_of(process(chain(task)))
    assert errors[0].startswith(
        'Automated step (e1): input "x": “result.id” is not a value this workflow knows'
    )


def test_output_whose_expression_contradicts_its_type_is_refused():
    task = (
        '<bpmn:serviceTask id="e1" baton:connector="http.request"><bpmn:extensionElements>'
        '<baton:property name="url" value="https://erp.example.invalid/"/>'
        '<baton:output name="ok" expression="size(result) &gt; 0" type="string"/>'
        "</bpmn:extensionElements></bpmn:serviceTask>"
    )
    assert (
        'output "ok" is declared a string but its expression gives a boolean'
        in errors_of(process(chain(task)))[0]
    )


def test_output_of_an_unknown_type_is_refused():
    task = (
        '<bpmn:serviceTask id="e1" baton:connector="http.request"><bpmn:extensionElements>'
        '<baton:property name="url" value="https://erp.example.invalid/"/>'
        '<baton:output name="n" expression="result.n" type="float"/></bpmn:extensionElements></bpmn:serviceTask>'
    )
    assert errors_of(process(chain(task))) == ['Automated step (e1): output "n" has unknown type "float".']


@pytest.mark.parametrize("name", ["result", "payload"])
def test_reserved_names_cannot_be_variables(name):
    task = (
        '<bpmn:serviceTask id="e1" baton:connector="http.request"><bpmn:extensionElements>'
        '<baton:property name="url" value="https://erp.example.invalid/"/>'
        f'<baton:output name="{name}" expression="result"/></bpmn:extensionElements></bpmn:serviceTask>'
    )
    assert f'output "{name}" is reserved' in errors_of(process(chain(task)))[0]


# --- Decision and Merge


def decision(
    condition: str = "amount &gt; 1000.0", *, default: str | None = "f_low", language: str = ""
) -> str:
    lang = f' language="{language}"' if language else ""
    default_attr = f' default="{default}"' if default else ""
    return "\n".join(
        [
            AMOUNT_FORM,
            f'<bpmn:exclusiveGateway id="gw_limit" name="Within limit?"{default_attr}/>',
            '<bpmn:userTask id="big" name="Director" baton:assignee="dir"/>',
            '<bpmn:userTask id="small" name="Manager" baton:assignee="mgr"/>',
            END,
            flow("f0", "start", "gw_limit"),
            (
                '<bpmn:sequenceFlow id="f_high" name="Over limit" sourceRef="gw_limit" targetRef="big">'
                f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"{lang}>{condition}'
                "</bpmn:conditionExpression></bpmn:sequenceFlow>"
            ),
            flow("f_low", "gw_limit", "small", name="Within"),
            flow("f_big_end", "big", "end"),
            flow("f_small_end", "small", "end"),
        ]
    )


def test_decision_compiles_its_default_and_conditions():
    graph = compiled(process(decision())).graph
    assert graph is not None
    assert graph["nodes"]["gw_limit"]["config"] == {"default": "f_low", "role": "decision"}
    assert graph["flows"]["f_high"] == {
        "id": "f_high",
        "name": "Over limit",
        "source": "gw_limit",
        "target": "big",
        "condition": "amount > 1000.0",
    }
    assert graph["flows"]["f_low"]["condition"] is None


def test_condition_with_cel_language_attribute_is_accepted():
    assert compile_bpmn(process(decision(language="CEL"))).ok


def test_decision_without_default_is_refused_naming_the_gateway():
    errors = errors_of(process(decision(default=None)))
    assert errors[0] == (
        'Decision "Within limit?" (gw_limit): has no default flow: mark the outgoing flow to take '
        "when no condition holds."
    )


def test_decision_flow_without_condition_is_refused():
    xml = process(decision().replace('default="f_low"', 'default="f_high"'))
    errors = errors_of(xml)
    assert any(
        'Flow "Within" (f_low): leaves Decision "Within limit?" (gw_limit) without a condition' in e
        for e in errors
    )


def test_misspelt_variable_in_a_condition_is_reported_in_plain_words_on_the_diagram():
    result = compile_bpmn(process(decision("amont &gt; 1000.0")))
    (error,) = result.errors
    assert (error.element_id, error.line, error.column) == ("f_high", 1, 1)
    assert str(error) == (
        'Flow "Over limit" (f_high): condition leaving Decision "Within limit?" (gw_limit): '
        "“amont” is not a value this workflow knows: did you mean “amount”? (line 1, column 1)."
    )


def test_whole_number_compared_with_a_number_on_the_diagram_suggests_the_decimal_form():
    (error,) = compile_bpmn(process(decision("amount &gt; 1000"))).errors
    assert str(error).endswith(
        "(gw_limit): “amount” is a number; compare it to a number, e.g. 1000.0 (line 1, column 8)."
    )
    assert "overload" not in str(error)


def test_decision_default_must_leave_the_gateway():
    errors = errors_of(process(decision(default="f_big_end")))
    assert 'has default flow "f_big_end", which does not leave it' in errors[0]


def test_ill_typed_condition_is_refused_with_line_and_column():
    result = compile_bpmn(process(decision('amount &gt; "1000"')))
    (error,) = result.errors
    assert (error.element_id, error.line, error.column) == ("f_high", 1, 8)
    assert str(error).startswith(
        'Flow "Over limit" (f_high): condition leaving Decision "Within limit?" (gw_limit): '
        "“amount” is a number; compare it to a number, e.g. 1000.0 (line 1, column 8)."
    )
    assert str(error).endswith("(line 1, column 8).")


def test_non_boolean_condition_is_refused_naming_flow_and_gateway():
    (error,) = compile_bpmn(process(decision("amount * 2.0"))).errors
    assert str(error) == (
        'Flow "Over limit" (f_high): condition leaving Decision "Within limit?" (gw_limit): '
        "gives a number, not true or false (line 1, column 1)."
    )


def test_condition_in_another_language_is_refused():
    errors = errors_of(process(decision("${amount > 1000}", language="juel")))
    assert 'has a condition in "juel"' in errors[0]


def test_condition_on_a_flow_leaving_a_step_is_refused():
    body = chain('<bpmn:userTask id="e1" baton:assignee="a"/>').replace(
        flow("f1", "e1", "end"), flow("f1", "e1", "end", condition="true")
    )
    assert "only flows leaving a Decision or Any of these paths can have one" in errors_of(process(body))[0]


def test_condition_on_the_default_flow_is_ignored_with_a_warning():
    xml = process(
        decision().replace(
            flow("f_low", "gw_limit", "small", name="Within"),
            flow("f_low", "gw_limit", "small", "true", "Within"),
        )
    )
    result = compiled(xml)
    assert result.graph is not None
    assert result.graph["flows"]["f_low"]["condition"] is None
    assert "is the default flow, so its condition is ignored" in str(result.warnings[0])


def test_gateway_with_several_incoming_and_one_plain_outgoing_is_a_merge():
    body = process(decision()).replace(
        flow("f_big_end", "big", "end") + "\n" + flow("f_small_end", "small", "end"),
        '<bpmn:exclusiveGateway id="merge"/>'
        + flow("f_big_m", "big", "merge")
        + flow("f_small_m", "small", "merge")
        + flow("f_m_end", "merge", "end"),
    )
    assert node_config(body, "merge") == {"default": None, "role": "merge"}


# --- Parallel split and join


def parallel(branch_a: str = "", branch_b: str = "") -> str:
    return "\n".join(
        [
            START,
            '<bpmn:parallelGateway id="split" name="Both"/>',
            '<bpmn:userTask id="a" name="Legal" baton:candidateGroups="legal"/>',
            '<bpmn:userTask id="b" name="Finance" baton:candidateGroups="finance"/>',
            '<bpmn:parallelGateway id="join" name="All done"/>',
            END,
            flow("f0", "start", "split"),
            flow("fa", "split", "a"),
            flow("fb", "split", "b"),
            branch_a or flow("fa2", "a", "join"),
            branch_b or flow("fb2", "b", "join"),
            flow("fend", "join", "end"),
        ]
    )


def test_parallel_gateways_compile_their_roles():
    graph = compiled(process(parallel())).graph
    assert graph is not None
    assert graph["nodes"]["split"]["config"] == {"role": "split"}
    assert graph["nodes"]["join"]["config"] == {"role": "join"}


def test_parallel_join_fed_by_decision_branches_is_refused():
    body = "\n".join(
        [
            AMOUNT_FORM,
            '<bpmn:exclusiveGateway id="gw" name="Big?" default="f_small"/>',
            '<bpmn:userTask id="a" baton:assignee="a"/>',
            '<bpmn:parallelGateway id="join" name="Wait for both"/>',
            END,
            flow("f0", "start", "gw"),
            flow("f_big", "gw", "a", "amount &gt; 1.0"),
            flow("f_small", "gw", "join"),
            flow("fa", "a", "join"),
            flow("fend", "join", "end"),
        ]
    )
    errors = errors_of(process(body))
    assert len(errors) == 1
    assert errors[0].startswith(
        'Parallel join "Wait for both" (join): waits for a token on every incoming flow'
    )
    assert "would wait forever" in errors[0]


def test_parallel_join_of_two_different_splits_is_refused():
    body = "\n".join(
        [
            START,
            '<bpmn:parallelGateway id="s1"/><bpmn:parallelGateway id="s2"/>',
            '<bpmn:parallelGateway id="join"/><bpmn:parallelGateway id="join2"/>',
            END,
            '<bpmn:endEvent id="end2"/><bpmn:endEvent id="end3"/>',
            '<bpmn:parallelGateway id="top"/>',
            flow("f0", "start", "top"),
            flow("t1", "top", "s1"),
            flow("t2", "top", "s2"),
            flow("a1", "s1", "join"),
            flow("a2", "s1", "end2"),
            flow("b1", "s2", "join"),
            flow("b2", "s2", "end3"),
            flow("fend", "join", "end"),
        ]
    )
    errors = errors_of(process(body))
    assert any("joins branches of different Parallel splits" in e for e in errors)


def test_decision_that_lets_a_branch_skip_the_join_is_refused():
    branch = "\n".join(
        [
            '<bpmn:exclusiveGateway id="ok" name="Legal ok?" default="f_no"/>',
            '<bpmn:endEvent id="gave_up" name="Gave up"/>',
            flow("fa2", "a", "ok"),
            flow("f_yes", "ok", "join", "approval.outcome == &quot;approved&quot;"),
            flow("f_no", "ok", "gave_up"),
        ]
    )
    errors = errors_of(process(parallel(branch_a=branch)))
    assert len(errors) == 1
    assert 'Decision "Legal ok?" (ok) can send the token' in errors[0]
    assert errors[0].startswith('Parallel join "All done" (join)')


def test_rework_loop_inside_a_parallel_branch_compiles():
    branch = "\n".join(
        [
            '<bpmn:exclusiveGateway id="again"/>',
            '<bpmn:exclusiveGateway id="ok" name="Legal ok?" default="f_redo"/>',
            flow("fa2", "a", "ok"),
            flow("f_yes", "ok", "join", "approval.outcome == &quot;approved&quot;"),
            flow("f_redo", "ok", "again"),
            flow("f_again", "again", "a"),
        ]
    )
    body = process(parallel(branch_a=branch)).replace(flow("fa", "split", "a"), flow("fa", "split", "again"))
    result = compiled(body)
    assert result.warnings == []


def test_nested_parallel_splits_compile():
    inner = "\n".join(
        [
            '<bpmn:parallelGateway id="s2"/><bpmn:parallelGateway id="j2"/>',
            '<bpmn:userTask id="c" baton:assignee="c"/>',
            flow("fb2", "b", "s2"),
            flow("x1", "s2", "c"),
            flow("x2", "s2", "j2"),
            flow("x3", "c", "j2"),
            flow("x4", "j2", "join"),
        ]
    )
    assert compile_bpmn(process(parallel(branch_b=inner))).ok


def test_merge_receiving_branches_of_a_parallel_split_is_a_warning():
    body = "\n".join(
        [
            START,
            '<bpmn:parallelGateway id="split" name="Both"/>',
            '<bpmn:exclusiveGateway id="merge" name="Either"/>',
            END,
            flow("f0", "start", "split"),
            flow("fa", "split", "merge"),
            flow("fb", "split", "merge"),
            flow("fend", "merge", "end"),
        ]
    )
    result = compiled(process(body))
    assert [str(w) for w in result.warnings] == [
        'Merge "Either" (merge): receives several branches of Parallel split "Both" (split), so the steps '
        "after it run once per branch. Use a Parallel join to wait for all."
    ]


def test_a_path_of_more_blocks_without_waiting_than_the_runtime_runs_at_once_is_warned_at_its_first():
    result = compile_bpmn(bpmn.linear_inline(5000))

    assert result.ok  # a warning: the version can still be published
    assert [str(w) for w in result.warnings] == [
        'Start "Start" (start): starts a path of 5,002 blocks that run one after another without waiting, '
        "more than the 5,000 Baton runs in one go: a run may stop there with an incident. Add a wait "
        "(an approval, an automated step or a timer) or shorten the path."
    ]


def test_a_long_path_broken_by_a_wait_is_not_warned(monkeypatch):
    monkeypatch.setattr("orchestration.engine.runtime.MAX_INLINE_STEPS", 10)
    assert compile_bpmn(bpmn.linear_inline(9)).warnings  # 11 blocks in a row
    ids = [f"a{i}" for i in range(8)] + ["wait"] + [f"b{i}" for i in range(8)]
    xml = bpmn.definitions(
        bpmn.start(),
        *[bpmn.script(i, '{"done": true}') for i in ids if i != "wait"],
        bpmn.wait_timer("wait", "PT1M"),
        bpmn.end(),
        *bpmn.chain("start", *ids, "end"),
    )

    assert compile_bpmn(xml).warnings == []


# --- Set data


def test_set_data_compiles_assignments_and_types_the_variables():
    script = (
        '<bpmn:scriptTask id="e1" scriptFormat="CEL"><bpmn:script>'
        '{"total": amount * 1.2, "label": "big", "flags": {"rush": true}, "n": 1}'
        "</bpmn:script></bpmn:scriptTask>"
    )
    graph = compiled(with_amount(process(chain(script)))).graph
    assert graph is not None
    assert graph["nodes"]["e1"]["config"] == {
        "assignments": {"total": "amount * 1.2", "label": '"big"', "flags": '{"rush": true}', "n": "1"}
    }
    variables = graph["variables"]
    assert (variables["total"], variables["label"], variables["flags"], variables["n"]) == (
        "number",
        "string",
        "map",
        "integer",
    )


def test_set_data_may_read_what_later_set_data_assigns():
    first = '<bpmn:scriptTask id="e1" scriptFormat="cel"><bpmn:script>{"b": a + 1}</bpmn:script></bpmn:scriptTask>'
    second = (
        '<bpmn:scriptTask id="e2" scriptFormat="cel"><bpmn:script>{"a": 1}</bpmn:script></bpmn:scriptTask>'
    )
    graph = compiled(process(chain(first, second))).graph
    assert graph is not None
    assert (graph["variables"]["a"], graph["variables"]["b"]) == ("integer", "integer")


def test_set_data_in_another_script_format_is_refused_naming_it():
    script = '<bpmn:scriptTask id="e1" name="Compute" scriptFormat="groovy"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>'
    errors = errors_of(process(chain(script)))
    assert errors[0].startswith('Set data "Compute" (e1): has script format "groovy"')


def test_set_data_that_is_not_a_map_is_refused():
    script = '<bpmn:scriptTask id="e1" scriptFormat="cel"><bpmn:script>1 + 1</bpmn:script></bpmn:scriptTask>'
    assert "must be a map" in errors_of(process(chain(script)))[0]


def test_set_data_error_is_located_within_the_whole_script():
    script = (
        '<bpmn:scriptTask id="e1" scriptFormat="cel"><bpmn:script>{\n  "ok": 1.0,\n  "bad": amount + "x"\n}'
        "</bpmn:script></bpmn:scriptTask>"
    )
    (error,) = compile_bpmn(with_amount(process(chain(script)))).errors
    assert (error.line, error.column) == (3, 17)
    assert 'value of "bad"' in str(error)


# --- Wait


def wait(definition: str, attrs: str = "") -> str:
    return f'<bpmn:intermediateCatchEvent id="e1" name="Cool off" {attrs}>{definition}</bpmn:intermediateCatchEvent>'


def test_wait_for_a_duration():
    xml = process(
        chain(
            wait(
                "<bpmn:timerEventDefinition><bpmn:timeDuration>PT4H</bpmn:timeDuration></bpmn:timerEventDefinition>"
            )
        )
    )
    graph = compiled(xml).graph
    assert graph is not None
    assert graph["nodes"]["e1"]["kind"] == "timer_catch"
    assert graph["nodes"]["e1"]["config"] == {"duration": "PT4H"}


def test_wait_until_a_fixed_date():
    definition = "<bpmn:timerEventDefinition><bpmn:timeDate>2026-03-01T09:00:00Z</bpmn:timeDate></bpmn:timerEventDefinition>"
    assert node_config(process(chain(wait(definition)))) == {"date": "2026-03-01T09:00:00Z"}


def test_wait_until_a_computed_date():
    definition = (
        "<bpmn:timerEventDefinition><bpmn:timeDate>business_key + &quot;T09:00:00Z&quot;</bpmn:timeDate>"
        "</bpmn:timerEventDefinition>"
    )
    assert node_config(process(chain(wait(definition)))) == {"date_expression": 'business_key + "T09:00:00Z"'}


def test_wait_until_a_date_expression_of_the_wrong_type_is_refused():
    definition = "<bpmn:timerEventDefinition><bpmn:timeDate>1 + 1</bpmn:timeDate></bpmn:timerEventDefinition>"
    assert "date gives an integer" in errors_of(process(chain(wait(definition))))[0]


def test_wait_with_an_invalid_duration_is_refused():
    definition = "<bpmn:timerEventDefinition><bpmn:timeDuration>4 hours</bpmn:timeDuration></bpmn:timerEventDefinition>"
    assert errors_of(process(chain(wait(definition)))) == [
        'Wait "Cool off" (e1): "4 hours" is not an ISO 8601 duration such as P2D, PT4H or P1W (no years or months).'
    ]


def test_wait_on_a_cycle_is_refused_because_a_wait_waits_once():
    definition = (
        "<bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition>"
    )
    assert errors_of(process(chain(wait(definition)))) == [
        'Wait "Cool off" (e1): repeats on a cycle ("R3/PT1H"), but a Wait waits once: '
        "give it a duration (such as PT1H) or a date."
    ]


def test_wait_for_a_message_compiles_its_name_and_correlation_key():
    xml = process(
        chain(wait('<bpmn:messageEventDefinition messageRef="m1"/>', 'baton:correlationKey="business_key"'))
    )
    xml = xml.replace(
        "</bpmn:definitions>", '<bpmn:message id="m1" name="payment_received"/></bpmn:definitions>'
    )
    graph = compiled(xml).graph
    assert graph is not None
    assert graph["nodes"]["e1"]["kind"] == "message_catch"
    assert graph["nodes"]["e1"]["config"] == {
        "message": "payment_received",
        "correlation_key": "business_key",
        "message_fields": [],
    }
    assert graph["messages"] == ["payment_received"]


def test_wait_for_a_message_without_correlation_key_is_refused():
    xml = process(chain(wait('<bpmn:messageEventDefinition messageRef="m1"/>')))
    xml = xml.replace("</bpmn:definitions>", '<bpmn:message id="m1" name="paid"/></bpmn:definitions>')
    assert "needs a correlation key" in errors_of(xml)[0]


# --- Sub-process call


def test_call_activity_compiles_its_called_workflow_and_mappings():
    call = (
        '<bpmn:callActivity id="e1" calledElement="vendor_onboarding"><bpmn:extensionElements>'
        '<baton:input name="vendor" expression="initiator"/>'
        '<baton:output name="vendor_id" expression="result.vendor_id" type="string"/>'
        "</bpmn:extensionElements></bpmn:callActivity>"
    )
    graph = compiled(process(chain(call))).graph
    assert graph is not None
    assert graph["nodes"]["e1"]["kind"] == "call_activity"
    assert graph["nodes"]["e1"]["config"] == {
        "called_element": "vendor_onboarding",
        "inputs": {"vendor": "initiator"},
        "outputs": {"vendor_id": "result.vendor_id"},
    }
    assert graph["variables"]["vendor_id"] == "string"


def test_call_activity_without_a_called_workflow_is_refused():
    assert (
        "does not name the workflow it calls" in errors_of(process(chain('<bpmn:callActivity id="e1"/>')))[0]
    )


# --- shape of the process


def test_process_without_start_is_refused():
    errors = errors_of(process(END))
    assert 'Process "Test" (test): has no Start: add a start event.' in errors


def test_unreachable_step_is_refused():
    body = chain() + '<bpmn:userTask id="lost" name="Lost" baton:assignee="a"/>' + flow("fl", "lost", "end")
    assert errors_of(process(body)) == ['Approval "Lost" (lost): cannot be reached from any Start.']


def test_loop_cut_off_from_the_start_is_unreachable_though_every_step_has_an_incoming_flow():
    loop = (
        '<bpmn:userTask id="x" baton:assignee="a"/><bpmn:userTask id="y" baton:assignee="a"/>'
        + flow("fx", "x", "y")
        + flow("fy", "y", "x")
    )
    errors = errors_of(process(chain() + loop))
    assert {e.split(":")[0] for e in errors if "cannot be reached" in e} == {"Approval (x)", "Approval (y)"}


def test_dead_end_is_refused():
    body = "\n".join(
        [START, '<bpmn:userTask id="stuck" name="Stuck" baton:assignee="a"/>', flow("f0", "start", "stuck")]
    )
    assert errors_of(process(body)) == [
        'Approval "Stuck" (stuck) is a dead end: it has no outgoing flow. Connect it, or finish the path with an End.'
    ]


def test_end_with_an_outgoing_flow_is_refused():
    body = chain() + '<bpmn:endEvent id="end2"/>' + flow("fe", "end", "end2")
    assert 'End "Done" (end): an End cannot have outgoing flows.' in errors_of(process(body))


def test_start_with_an_incoming_flow_is_refused():
    body = (
        chain('<bpmn:userTask id="e1" baton:assignee="a"/>')
        .replace(END, "")
        .replace(flow("f1", "e1", "end"), flow("f1", "e1", "start"))
    )
    assert 'Start "Request" (start): a Start cannot have incoming flows.' in errors_of(process(body))


def test_flow_to_an_unknown_element_is_refused():
    body = chain() + flow("f_bad", "start", "ghost", name="Lost")
    assert 'Flow "Lost" (f_bad): has target "ghost", which does not exist.' in errors_of(process(body))


def test_step_with_two_outgoing_flows_is_refused():
    body = chain('<bpmn:userTask id="e1" baton:assignee="a"/>') + flow("f_extra", "e1", "end")
    assert "has 2 outgoing flows" in errors_of(process(body))[0]


# --- variables


def test_graph_lists_every_variable_with_its_type_including_builtins():
    graph = compiled(with_amount(process(chain('<bpmn:userTask id="e1" baton:assignee="a"/>')))).graph
    assert graph is not None
    assert graph["variables"] == {
        "amount": "number",
        "approval": "map",
        "business_key": "string",
        "initiator": "string",
        "instance_id": "string",
        "requested_on": "string",
        "request_number": "string",
    }
    assert "reads_request_number" not in graph  # read by no expression: a new request is written as before


def test_variable_assigned_two_types_is_refused_naming_both_elements():
    script = '<bpmn:scriptTask id="e1" name="Tag" scriptFormat="cel"><bpmn:script>{"amount": "high"}</bpmn:script></bpmn:scriptTask>'
    errors = errors_of(with_amount(process(chain(script))))
    assert errors == [
        'Set data "Tag" (e1): sets "amount" to a string, but Start "Request" (start) sets it to a number.'
    ]


def test_integer_for_a_number_variable_is_refused_with_a_hint():
    script = '<bpmn:scriptTask id="e1" scriptFormat="cel"><bpmn:script>{"amount": 0}</bpmn:script></bpmn:scriptTask>'
    assert "write 1.0 rather than 1" in errors_of(with_amount(process(chain(script))))[0]


def test_dyn_output_agrees_with_any_type():
    task = (
        '<bpmn:serviceTask id="e1" baton:connector="http.request"><bpmn:extensionElements>'
        '<baton:property name="url" value="https://erp.example.invalid/"/>'
        '<baton:output name="amount" expression="result.amount"/></bpmn:extensionElements></bpmn:serviceTask>'
    )
    graph = compiled(with_amount(process(chain(task)))).graph
    assert graph is not None
    assert graph["variables"]["amount"] == "number"


def test_builtin_variable_cannot_be_overwritten():
    script = '<bpmn:scriptTask id="e1" scriptFormat="cel"><bpmn:script>{"initiator": "me"}</bpmn:script></bpmn:scriptTask>'
    assert 'variable "initiator" would overwrite a built-in variable' in errors_of(process(chain(script)))[0]


def test_every_problem_is_reported_at_once():
    body = chain(
        '<bpmn:serviceTask id="e1" baton:connector="nope"/>',
        '<bpmn:userTask id="e2"/>',
        '<bpmn:task id="e3"/>',
    )
    assert len(errors_of(process(body))) == 3


def test_durations_in_years_or_months_are_refused_because_they_have_no_fixed_length() -> None:
    xml = bpmn.definitions(
        bpmn.start(), bpmn.wait_timer("w", "P1M"), bpmn.end(), *bpmn.chain("start", "w", "end")
    )

    result = compile_bpmn(xml)

    assert not result.ok
    assert "P1M" in str(result.errors[0]) and "years or months, which have no fixed length" in str(
        result.errors[0]
    )


def test_a_text_fields_max_length_is_read_and_bad_ones_are_refused():
    good = compile_bpmn(
        bpmn.definitions(
            bpmn.start("s", bpmn.field("why", "text", maxLength="500")),
            bpmn.end("e"),
            bpmn.flow("s", "e"),
        )
    )
    assert good.graph["nodes"]["s"]["config"]["fields"][0]["max_length"] == 500
    for raw, message in [
        ("0", "from 1 to 20,000"),
        ("2.5", "from 1 to 20,000"),
        ("99999", "from 1 to 20,000"),
    ]:
        bad = compile_bpmn(
            bpmn.definitions(
                bpmn.start("s", bpmn.field("why", "text", maxLength=raw)), bpmn.end("e"), bpmn.flow("s", "e")
            )
        )
        assert any(message in str(e) for e in bad.errors), (raw, bad.errors)
    number = compile_bpmn(
        bpmn.definitions(
            bpmn.start("s", bpmn.field("n", "number", maxLength="5")), bpmn.end("e"), bpmn.flow("s", "e")
        )
    )
    assert any("only text fields take a maxLength" in str(e) for e in number.errors)


def test_a_start_field_passed_to_the_procurement_order_gets_its_item_limit():
    result = compile_bpmn(
        bpmn.definitions(
            bpmn.start("s", bpmn.field("what", "text", maxLength="5000"), bpmn.field("note", "text")),
            bpmn.service(
                "order",
                "procurement.create_order",
                name="Place order",
                inputs={"item": "what", "amount": "1.0", "currency": '"EUR"', "requester": "initiator"},
            ),
            bpmn.end("e"),
            *[bpmn.flow(a, b) for a, b in (("s", "order"), ("order", "e"))],
        )
    )
    assert result.errors == []
    what, note = result.graph["nodes"]["s"]["config"]["fields"]
    assert (what["max_length"], what["max_length_reason"]) == (200, "Place order accepts no more")
    assert "max_length" not in note
