"""Set data (BPMN scriptTask with a CEL map): the variables it sets."""

from __future__ import annotations

from typing import Any

from designer.cel_builder import cel_error, cel_string
from designer.diagram import Payload, script
from designer.panels.base import BlockForm
from designer.panels.rows import VariableRows
from orchestration import expressions


class SetDataForm(BlockForm):
    kind = "set_data"
    label = "Set data"
    icon = "bi-pencil-square"
    help = "Works out values (from the request, or a formula); later blocks can use them."
    partial = "set_data"
    row_sets = {"data": (VariableRows, "assignment", {})}

    def initial_rows(self, prefix: str, kind: str) -> list[dict[str, Any]]:
        source = script(self.ctx.element)
        try:
            entries = expressions.map_literal_entries(source) if source else []
        except expressions.ExpressionError:
            return []
        return [{"name": e.key, "expression": e.value} for e in entries]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.rows["data"].is_valid() and not self.rows["data"].items():
            self.add_error(None, "Set at least one variable.")
        return data

    def payload(self) -> Payload:
        payload = super().payload()
        entries = ", ".join(f"{cel_string(i['name'])}: {i['expression']}" for i in self.rows["data"].items())
        payload["script"] = "{" + entries + "}"
        return payload

    def unreadable_script(self) -> str:
        """The script as written when it is not a map the rows can show (it is replaced on apply)."""
        source = script(self.ctx.element)
        try:
            expressions.map_literal_entries(source)
        except expressions.ExpressionError as exc:
            return f"{source}\n\n{cel_error(exc)}"
        return ""
