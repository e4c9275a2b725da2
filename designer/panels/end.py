"""End (BPMN endEvent): the outcome a request ends with."""

from __future__ import annotations

from typing import Any

from django import forms
from lxml import etree

from designer.diagram import Payload
from designer.panels.base import BlockForm, PanelContext, definition_kind, or_none, setting
from designer.panels.not_run import UnsupportedForm

OUTCOMES = ("approved", "rejected", "completed", "cancelled")


class EndForm(BlockForm):
    kind = "end"
    label = "End"
    icon = "bi-stop-circle"
    help = "The request ends here. The outcome is what people see on it: approved, rejected, …"
    partial = "end"

    outcome = forms.CharField(
        label="Outcome",
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"list": "known-outcomes", "placeholder": "e.g. approved"}),
    )

    @classmethod
    def panel_for(cls, element: etree._Element) -> type[BlockForm]:
        """A plain end event; a terminate end is Stop everything; other ends (error, …) are not edited here."""
        from designer.panels.stop import StopForm  # a variant of this form, in its own module

        return {None: EndForm, "terminate": StopForm}.get(definition_kind(element), UnsupportedForm)

    def outcomes(self) -> tuple[str, ...]:
        return OUTCOMES

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        return {"outcome": setting(ctx, "outcome")}

    def payload(self) -> Payload:
        payload = super().payload()
        payload["attrs"] = {"baton:outcome": or_none(" ".join(self.cleaned_data["outcome"].split()))}
        return payload
