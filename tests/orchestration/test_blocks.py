"""The block kinds' registry is the one source: compiler readers, labels, palette and runtime come from it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, is_typeddict

import pytest

from orchestration.bpmn.compiler import compile_bpmn
from orchestration.bpmn.context import clean
from orchestration.bpmn.problems import element_label, kind_label
from orchestration.engine import blocks, start_instance
from orchestration.engine.blocks.base import Block, Kind, PaletteEntry
from orchestration.models import ProcessInstance
from tests import bpmn
from tests.orchestration.factories import publish

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step

ROOT = Path(__file__).resolve().parent.parent.parent
BPMN_TYPES = {
    t["name"]
    for t in json.loads((ROOT / "node_modules/bpmn-moddle/resources/bpmn/json/bpmn.json").read_text())[
        "types"
    ]
}


def test_every_registered_kind_has_a_label_a_typed_config_and_a_block() -> None:
    for kind in blocks.kinds():
        assert kind.label, kind.name
        assert kind_label(kind.name) == kind.label
        assert is_typeddict(kind.config), f"{kind.name}'s config is not a TypedDict"
        assert kind.config.__doc__, f"{kind.name}'s config says nothing about itself"
        assert blocks.block_for(kind.name) is kind.block
        assert kind.block.kind == kind.name
        assert kind.element[:1].upper() + kind.element[1:] in BPMN_TYPES, kind.element


def test_every_compiled_node_has_its_kinds_config_shape() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("amount", "number", required=True)),
        bpmn.user_task("approve", assignee="bob"),
        bpmn.gateway("big", default="f_small"),
        bpmn.service("call_erp", "http.request", properties={"url": "https://erp.example/orders"}),
        bpmn.service("tell", "email", tag="sendTask", inputs={"to": '"bob"', "subject": '"Hi"'}),
        bpmn.script("mark", '{"size": "big"}'),
        bpmn.gateway("merge"),
        bpmn.gateway("split", kind="parallel"),
        bpmn.wait_timer("pause", "PT1H"),
        bpmn.wait_message("paid", "payment", "string(amount)"),
        bpmn.gateway("join", kind="parallel"),
        bpmn.gateway("any", kind="inclusive", default="f_any_always"),
        bpmn.script("extra", '{"extra": true}'),
        bpmn.gateway("any_join", kind="inclusive"),
        bpmn.call("child", "other-flow"),
        bpmn.group(
            "checks",
            bpmn.start("checks_start"),
            bpmn.error_end("refused", "NO"),
            bpmn.flow("checks_start", "refused"),
        ),
        bpmn.boundary_error("on_refusal", "checks", code="NO"),
        bpmn.gateway("race", kind="eventBased"),
        bpmn.wait_timer("late", "P2D"),
        bpmn.wait_message("news", "payment", "string(amount)"),
        bpmn.stop("stop", outcome="late"),
        bpmn.end("end", outcome="done"),
        bpmn.end("end_refused"),
        *bpmn.chain("on_refusal", "end_refused"),
        *bpmn.chain("start", "checks", "approve", "big"),
        bpmn.flow("big", "call_erp", id="f_big", condition="amount > 1000.0"),
        bpmn.flow("big", "mark", id="f_small"),
        *bpmn.chain("call_erp", "merge"),
        *bpmn.chain("mark", "merge", "split"),
        *bpmn.chain("split", "pause", "join"),
        *bpmn.chain("split", "paid", "join"),
        *bpmn.chain("join", "any"),
        bpmn.flow("any", "extra", id="f_any_big", condition="amount > 10.0"),
        bpmn.flow("any", "any_join", id="f_any_always"),
        bpmn.flow("extra", "any_join"),
        *bpmn.chain("any_join", "tell", "child", "race", "late", "stop"),
        *bpmn.chain("race", "news", "end"),
        messages=("payment",),
        errors=("NO",),
    )
    result = compile_bpmn(xml)
    assert result.graph is not None, [str(e) for e in result.errors]
    nodes = result.graph["nodes"]
    assert {node["kind"] for node in nodes.values()} == {kind.name for kind in blocks.kinds()}
    for node in nodes.values():
        kind = blocks.registered(node["kind"])
        assert kind is not None
        config_type = kind.config
        assert set(node["config"]) <= set(config_type.__annotations__), node["id"]
        assert set(config_type.__required_keys__) <= set(node["config"]), node["id"]


def test_every_palette_entry_names_a_registered_kind_and_a_bpmn_type() -> None:
    entries = [(kind, kind.palette) for kind in blocks.kinds() if kind.palette is not None]
    for kind, entry in entries:
        assert entry.type == "bpmn:" + kind.element[:1].upper() + kind.element[1:], kind.name
        assert entry.type.removeprefix("bpmn:") in BPMN_TYPES
        if entry.event_definition:
            assert entry.event_definition.removeprefix("bpmn:") in BPMN_TYPES
            assert kind.event_definition == entry.event_definition[5:6].lower() + entry.event_definition[6:]
        assert entry.label and entry.hint and entry.icon.startswith("bpmn-icon-")
    for kind in blocks.kinds():  # a preset makes the kind's own element, with settings on it
        assert all(p.type == kind.palette.type for p in kind.presets if kind.palette), kind.name
    palette = blocks.palette()
    keys = [block["key"] for block in palette["blocks"]]
    assert keys == [e.key for kind, entry in entries for e in (entry, *kind.presets)]
    assert len(set(keys)) == len(keys)
    assert set(palette["appends"]) <= set(keys)


def test_the_palette_keeps_the_designers_order_labels_and_appends() -> None:
    palette = blocks.palette()
    assert [(b["key"], b["label"]) for b in palette["blocks"]] == [
        ("start", "Start"),
        ("approval", "Approval"),
        ("automated", "Automated step"),
        ("ask_ai", "Ask AI"),
        ("notify", "Notify"),
        ("set-data", "Set data"),
        ("decision", "Decision"),
        ("parallel", "Parallel split/join"),
        ("inclusive", "Any of these paths"),
        ("wait", "Wait"),
        ("first-event", "First event wins"),
        ("call", "Run another workflow"),
        ("group", "Group of steps"),
        ("end", "End"),
        ("stop", "Stop everything"),
    ]
    # Ask AI too: a step after which a Decision or an Approval usually follows, added from the block before.
    assert palette["appends"] == ["approval", "automated", "ask_ai", "notify", "set-data", "decision", "end"]
    assert palette["blocks"][5]["attrs"] == {"scriptFormat": "cel"}
    assert palette["blocks"][9]["eventDefinitionType"] == "bpmn:TimerEventDefinition"
    assert palette["blocks"][-1]["eventDefinitionType"] == "bpmn:TerminateEventDefinition"


def test_element_labels_come_from_the_first_kind_registered_for_the_element() -> None:
    assert element_label("userTask") == "Approval"
    assert element_label("sendTask") == "Notify"
    assert element_label("intermediateCatchEvent") == "Wait"
    assert element_label("sequenceFlow") == "Flow"
    assert element_label("manualTask") == "Element"
    assert kind_label("parallel", "split") == "Parallel split"
    assert kind_label("exclusive", "merge") == "Merge"
    assert kind_label("exclusive", "decision") == "Decision"
    assert kind_label("inclusive", "split") == "Any of these paths"
    assert kind_label("inclusive", "join") == "Join of the paths taken"
    assert kind_label("nothing") == "Element"


def test_a_kind_cannot_be_registered_twice() -> None:
    with pytest.raises(ValueError, match="already registered"):
        blocks.register(blocks.kinds()[0])


# --- a kind that exists only in this file: its module is the code below, its registration the fixture


class StampConfig(TypedDict):
    """A Stamp: the text it writes into the ``stamp`` variable."""

    text: str


def read_stamp(el: etree._Element, ctx: ReadContext) -> StampConfig | None:
    subject = ctx.subject(el)
    ctx.declare("stamp", "string", subject)
    return {"text": clean(el.get("name", ""))}


def check_stamp(node: Node, ctx: ReadContext) -> None:
    if not node["config"]["text"]:
        ctx.error(ctx.subject_of(node), "has no text to stamp: give it a name.")


class StampBlock(Block):
    kind = "stamp"

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        run.set_variables({"stamp": node["config"]["text"]}, step)
        return list(node["outgoing"])


STAMP = Kind(
    name="stamp",
    label="Stamp",
    element="manualTask",
    config=StampConfig,
    read=read_stamp,
    check=check_stamp,
    block=StampBlock(),
    palette=PaletteEntry(
        key="stamp",
        label="Stamp",
        type="bpmn:ManualTask",
        icon="bpmn-icon-manual-task",
        group="work",
        hint="Writes its name into the data",
        append=8,
    ),
)


@pytest.fixture
def stamp_kind() -> Iterator[Kind[StampConfig]]:
    blocks.register(STAMP)
    yield STAMP
    blocks.unregister("stamp")


def _stamp_flow(text: str) -> str:
    return bpmn.definitions(
        bpmn.start("start"),
        f'<bpmn:manualTask id="stamp_it" name="{text}"/>',
        bpmn.gateway("which", default="f_other"),
        bpmn.end("end_ok", outcome="stamped"),
        bpmn.end("end_other", outcome="other"),
        bpmn.flow("start", "stamp_it"),
        bpmn.flow("stamp_it", "which"),
        bpmn.flow("which", "end_ok", id="f_ok", condition='stamp == "Paid"'),
        bpmn.flow("which", "end_other", id="f_other"),
    )


@pytest.mark.django_db
def test_a_kind_registered_in_one_place_is_compiled_offered_and_run(stamp_kind: Kind[StampConfig]) -> None:
    result = compile_bpmn(_stamp_flow("Paid"))
    assert result.ok, [str(e) for e in result.errors]
    assert result.graph is not None
    assert result.graph["nodes"]["stamp_it"]["kind"] == "stamp"
    assert result.graph["nodes"]["stamp_it"]["config"] == {"text": "Paid"}
    assert result.graph["variables"]["stamp"] == "string"  # its declaration typed the Decision's condition
    assert blocks.palette()["blocks"][-1]["key"] == "stamp"
    assert blocks.palette()["appends"][-1] == "stamp"

    instance = start_instance(publish(_stamp_flow("Paid"), key="stamped"), {})

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert (instance.outcome, instance.variables["stamp"]) == ("stamped", "Paid")


def test_a_registered_kinds_check_reports_against_its_element(stamp_kind: Kind[StampConfig]) -> None:
    result = compile_bpmn(_stamp_flow(""))
    assert [str(e) for e in result.errors] == ["Stamp (stamp_it): has no text to stamp: give it a name."]


def test_an_unregistered_element_is_refused_again() -> None:
    result = compile_bpmn(_stamp_flow("Paid"))
    assert 'Element "Paid" (stamp_it) is a bpmn:manualTask, which Baton does not run; use an Approval.' in [
        str(e) for e in result.errors
    ]
