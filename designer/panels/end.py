"""End (BPMN endEvent): what a request's end means: finished with an outcome, or another kind of End.

"This end means" offers every End variant registered in :attr:`EndForm.variants`
(designer.panels): finished (this module), finished with an error (error_end), … Each
variant is its own panel module: what its end event carries, its fields, its checks and
its payload. Switching the choice and applying turns one End into another.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

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
    # The variant's key, what "This end means" calls it, and the event definition it has (None: plain).
    meaning: ClassVar[tuple[str, str]] = ("finished", "Finished")
    definition: ClassVar[str | None] = None
    # Its own fields' partial in the panel template ("" when it has none beyond the outcome).
    variant_partial: ClassVar[str] = ""
    # Every End variant, in the order offered (registered in designer.panels).
    variants: ClassVar[list[type[EndForm]]] = []

    means = forms.ChoiceField(label="This end means", required=False, widget=forms.RadioSelect)
    outcome = forms.CharField(
        label="Outcome",
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"list": "known-outcomes", "placeholder": "e.g. approved"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        variants = self.variants or [type(self)]
        means = self.fields["means"]
        assert isinstance(means, forms.ChoiceField)
        means.choices = [variant.meaning for variant in variants]
        # Every variant's own fields, so the End can become any of them here.
        for variant in variants:
            for name, field in variant.base_fields.items():
                if name not in self.fields:
                    self.fields[name] = copy.deepcopy(field)
        self.variant_partials = [(v.meaning[0], v.variant_partial) for v in variants if v.variant_partial]

    @classmethod
    def panel_for(cls, element: etree._Element) -> type[BlockForm]:
        """The variant for the end event's definition; ends Baton does not run get an explanation."""
        found = definition_kind(element)
        return next((v for v in cls.variants or [cls] if v.definition == found), UnsupportedForm)

    def at_top_level(self) -> bool:
        """Whether the End is drawn at the process level, outside any Group."""
        return self.ctx.element.getparent() is self.ctx.diagram.process

    def known_errors(self) -> list[str]:
        """Error codes the diagram already uses, for the variants that name one."""
        return sorted({code for _, code in self.ctx.diagram.errors() if code})

    def outcomes(self) -> tuple[str, ...]:
        return OUTCOMES

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        return {"means": cls.meaning[0], "outcome": setting(ctx, "outcome")}

    def chosen(self) -> type[EndForm]:
        """The variant chosen under "This end means" (the element's own when none is posted)."""
        key = self.cleaned_data.get("means") or self.meaning[0]
        return next((v for v in self.variants or [type(self)] if v.meaning[0] == key), type(self))

    def clean(self) -> dict[str, Any]:
        super().clean()
        self.chosen().clean_end(self)
        return self.cleaned_data

    @classmethod
    def clean_end(cls, form: EndForm) -> None:
        """Check what this variant needs (in ``form``, the panel's End form)."""

    @classmethod
    def end_payload(cls, form: EndForm, payload: Payload) -> None:
        """Write this variant into ``payload``: a plain End with its outcome."""
        if definition_kind(form.ctx.element) is not None:
            payload["noDefinition"] = True
        outcome = " ".join(form.cleaned_data["outcome"].split()) or _outcome_named(payload.get("name", ""))
        payload["attrs"] = {"baton:outcome": or_none(outcome)}

    def payload(self) -> Payload:
        payload = super().payload()
        self.chosen().end_payload(self, payload)
        return payload


def _outcome_named(name: str) -> str:
    """The known outcome an End is named for ("Approved" → approved), so naming it is enough; else ""."""
    words = " ".join(name.split()).lower()
    return next((o for o in OUTCOMES if words == o.replace("_", " ")), "")
