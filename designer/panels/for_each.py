"""For each: the section that makes a step run once per item of a list (``multiInstanceLoopCharacteristics``).

Shown on every kind whose ``Kind.loops`` allows it. Writes the attributes the compiler
reads (``orchestration.bpmn.compiler._loop``): the list, the item's name, all at once or
one after another, when to stop early, and where the results go.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django import forms

from designer.diagram import Payload, loop
from designer.panels.base import PanelContext, Section, variable_name
from designer.scope import Variable
from orchestration import expressions

if TYPE_CHECKING:
    from orchestration.engine.blocks.base import Kind

ORDERS = [("parallel", "All at once"), ("sequential", "One after another")]
STOPS = [
    ("never", "No: go through every item"),
    ("count", "Once this many items are done"),
    ("cel", "When a condition holds (a formula)"),
]
# The condition "Once this many items are done" writes, and reads back.
_COUNT = re.compile(r"progress\.completed\s*>=\s*(\d+)")


class ForEachSection(Section):
    prefix = "foreach"
    partial = "for_each"
    live = {
        "collection": {"expect": "list"},
        "completion": {"expect": "bool", "with": "progress"},
        "output_item": {"with": "result"},
    }

    enabled = forms.BooleanField(label="Run this step once per item of a list", required=False)
    collection = forms.CharField(
        label="The list",
        required=False,
        max_length=expressions.MAX_LENGTH,
        help_text="A list from the request, e.g. the order's lines, or a formula giving one.",
    )
    item = forms.CharField(
        label="Call each item",
        required=False,
        max_length=100,
        help_text="The step reads the item it runs for under this name.",
    )
    order = forms.ChoiceField(
        label="Run the items", choices=ORDERS, initial="parallel", required=False, widget=forms.RadioSelect
    )
    stop = forms.ChoiceField(
        label="Stop early",
        choices=STOPS,
        initial="never",
        required=False,
        widget=forms.RadioSelect,
    )
    stop_count = forms.IntegerField(label="Items done", required=False, min_value=1, max_value=100000)
    completion = forms.CharField(
        label="Condition",
        required=False,
        max_length=expressions.MAX_LENGTH,
        help_text=(
            "<code>progress.completed</code> items are done out of <code>progress.total</code>; "
            "<code>progress.outputs</code> holds their results, e.g. "
            '<code>progress.outputs.exists(o, o.outcome == "rejected")</code>.'
        ),
    )
    output = forms.CharField(
        label="Collect the results into",
        required=False,
        max_length=100,
        help_text="Optional: a list with one result per item, in the list's order.",
    )
    output_item = forms.CharField(
        label="Result of one item",
        required=False,
        max_length=expressions.MAX_LENGTH,
        help_text="From <code>result</code>, what the step gave for the item, e.g. <code>result.outcome</code>. "
        "Empty: all of it.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].widget.attrs["placeholder"] = "item"
        self.fields["completion"].widget.attrs["placeholder"] = "progress.completed >= 2"
        self.fields["output"].widget.attrs["placeholder"] = "results"

    @classmethod
    def applies(cls, kind: Kind[Any]) -> bool:
        return kind.loops

    def list_variables(self) -> list[tuple[str, list[Variable]]]:
        return self.variables("list", "dyn")

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        found = loop(ctx.element)
        if found is None:
            return {"enabled": False, "order": "parallel", "stop": "never"}
        count = _COUNT.fullmatch(found["completion"])
        return {
            "stop": "count" if count else "cel" if found["completion"] else "never",
            "stop_count": int(count[1]) if count else None,
            "enabled": True,
            "collection": found["collection"],
            "item": found["elementVariable"],
            "order": "sequential" if found["isSequential"] else "parallel",
            "completion": found["completion"],
            "output": found["outputCollection"],
            "output_item": found["outputElement"],
        }

    def clean_item(self) -> str:
        name: str = self.cleaned_data["item"].strip()
        return variable_name(name) if name else ""

    def clean_output(self) -> str:
        name: str = self.cleaned_data["output"].strip()
        return variable_name(name) if name else ""

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not data.get("enabled"):
            return data
        collection = data.get("collection", "").strip()
        if not collection:
            self.add_error("collection", "Choose the list to go through.")
        else:
            self.check("collection", collection, "list")
        types = self.ctx.scope.types()
        item = data.get("item") or "item"
        stop = data.get("stop") or ("cel" if data.get("completion", "").strip() else "never")
        data["stop"] = stop
        if stop == "count" and not data.get("stop_count"):
            self.add_error("stop_count", "Say after how many items to stop.")
        completion = data.get("completion", "").strip()
        if stop == "cel" and not completion:
            self.add_error("completion", "Write the condition, or choose to go through every item.")
        elif stop == "cel":
            self.check("completion", completion, "bool", {**types, item: "dyn", "progress": "map"})
        output_item = data.get("output_item", "").strip()
        if output_item:
            if not data.get("output"):
                self.add_error("output", "Name the list the results go into.")
            self.check("output_item", output_item, None, {**types, item: "dyn", "result": "map"})
        return data

    def contribute(self, payload: Payload) -> None:
        data = self.cleaned_data
        if not data["enabled"]:
            payload["loop"] = None
            return
        payload["loop"] = {
            "collection": data["collection"].strip(),
            "elementVariable": data["item"],
            "isSequential": data["order"] == "sequential",
            "completion": {
                "never": "",
                "count": f"progress.completed >= {data['stop_count']}",
                "cel": data["completion"].strip(),
            }[data["stop"]],
            "outputCollection": data["output"],
            "outputElement": data["output_item"].strip() if data["output"] else "",
        }
