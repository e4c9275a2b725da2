"""End with error (BPMN endEvent with an errorEventDefinition): the Group or sub-process it is in fails.

An "If it fails" path around it (on its Group, or on the step that called this workflow)
catches the error by its code; the ``bpmn:error`` with that code is created or reused.
"""

from __future__ import annotations

from typing import Any

from django import forms

from designer.diagram import Payload, error_ref
from designer.panels.base import PanelContext
from designer.panels.end import EndForm


class ErrorEndForm(EndForm):
    label = "End with error"
    icon = "bi-x-octagon"
    help = (
        "The steps around it fail here with an error code: the \u201cIf it fails\u201d path of their Group, "
        "or of the step that called this workflow, takes over."
    )
    meaning = ("error", "Finished with an error")
    definition = "error"
    variant_partial = "error_end"

    error_code = forms.CharField(
        label="Error code",
        required=False,
        max_length=100,
        help_text="An \u201cIf it fails\u201d path can catch this code, e.g. <code data-technical>NO_BUDGET</code>, or any failure.",
        widget=forms.TextInput(attrs={"list": "known-errors"}),
    )

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        return {**super().initial_from_xml(ctx), "error_code": error_ref(ctx.element, ctx.diagram) or ""}

    @classmethod
    def clean_end(cls, form: EndForm) -> None:
        code = " ".join(form.cleaned_data.get("error_code", "").split())
        if not code:
            form.add_error("error_code", "Give the error a code, so a path can catch it.")
        elif " " in code:
            form.add_error("error_code", "Write the code as one word, without spaces.")
        form.cleaned_data["error_code"] = code

    @classmethod
    def end_payload(cls, form: EndForm, payload: Payload) -> None:
        payload["attrs"] = {"baton:outcome": None}
        payload["error"] = {"code": form.cleaned_data["error_code"]}
