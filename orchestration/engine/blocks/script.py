"""Set data: evaluate each CEL assignment against the current variables."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from orchestration import expressions
from orchestration.bpmn.context import Expression, text_of
from orchestration.bpmn.parse import bpmn
from orchestration.engine.blocks.base import Block, Kind, PaletteEntry, evaluate_mapping

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


class ScriptConfig(TypedDict):
    """A Set data step: each variable it sets, with the CEL computing it."""

    assignments: dict[str, str]


def read(el: etree._Element, ctx: ReadContext) -> ScriptConfig | None:
    """A scriptTask in CEL whose script is a map literal: each key is a variable to set."""
    subject = ctx.subject(el)
    script_format = el.get("scriptFormat", "").strip()
    if script_format.lower() != "cel":
        shown = f'script format "{script_format}"' if script_format else "no script format"
        ctx.error(
            subject,
            f'has {shown}; Set data runs CEL maps such as {{"total": amount * 1.2}} (format "cel").',
        )
        return {"assignments": {}}
    source = text_of(el.find(bpmn("script")))
    try:
        entries = expressions.map_literal_entries(source)
    except expressions.ExpressionError as exc:
        ctx.error(subject, f"script: {exc}.", exc.line, exc.column)
        return {"assignments": {}}
    if not entries:
        ctx.error(subject, "sets no data.")
    for entry in entries:
        if not ctx.variable_name_ok(entry.key, subject, "variable"):
            continue
        expression = Expression(
            subject,
            f'value of "{entry.key}"',
            entry.value,
            "variables",
            line=entry.line,
            column=entry.column,
        )
        ctx.declare_inferred(entry.key, subject, expression)
    return {"assignments": {e.key: e.value for e in entries}}


class ScriptBlock(Block):
    kind = "script"

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        values = evaluate_mapping(run, node["config"]["assignments"], "variable")
        run.set_variables(values, step)
        step.output = values
        return list(node["outgoing"])


KIND = Kind(
    name="script",
    label="Set data",
    element="scriptTask",
    config=ScriptConfig,
    read=read,
    block=ScriptBlock(),
    palette=PaletteEntry(
        key="set-data",
        label="Set data",
        type="bpmn:ScriptTask",
        icon="bpmn-icon-script-task",
        group="work",
        hint="Computes values for later steps",
        attrs={"scriptFormat": "cel"},
        append=5,
    ),
)
