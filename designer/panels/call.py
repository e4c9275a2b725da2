"""Run another workflow (BPMN callActivity): the workflow it starts, its inputs and results."""

from __future__ import annotations

from typing import Any

from django import forms

from designer.diagram import Payload
from designer.panels.base import BlockForm, PanelContext, choice_field, with_current
from designer.panels.rows import InputRows, OutputRows
from orchestration.access import visible_workflows


class CallForm(BlockForm):
    kind = "call"
    label = "Run another workflow"
    icon = "bi-box-arrow-in-down-right"
    help = "Starts another workflow and waits for it to end. It starts with the values you give it; the values you keep come back."
    partial = "call"
    row_sets = {
        "inputs": (InputRows, "input", {}),
        "outputs": (OutputRows, "output", {"result": "map"}),
    }

    called = forms.ChoiceField(label="Workflow to run")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.ctx.element.get("calledElement", "").strip()
        workflows = (
            visible_workflows(self.ctx.user).exclude(pk=self.ctx.workflow.pk).order_by("name")
            if self.ctx.user
            else []
        )
        choice_field(self.fields["called"]).choices = with_current(
            [("", "Choose…"), *((w.key, f"{w.name} ({w.key})") for w in workflows)], current
        )

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        return {"called": ctx.element.get("calledElement", "").strip()}

    def payload(self) -> Payload:
        payload = super().payload()
        payload["attrs"] = {"calledElement": self.cleaned_data["called"]}
        payload["extensions"] = self._extensions()
        return payload
