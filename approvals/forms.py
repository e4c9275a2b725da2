"""Forms for requesters and approvers: start forms generated from a workflow's fields, and decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

from approvals.actions import APPROVED, CHANGES_REQUESTED, REJECTED
from orchestration.engine.human import max_length_of

if TYPE_CHECKING:
    from orchestration.bpmn.graph import FormField


def _widget(field: FormField) -> forms.Widget:
    attrs: dict[str, Any] = {}
    kind = field["type"]
    if field.get("required") and kind != "boolean":
        attrs["required"] = True
    longest = max_length_of(field)
    if longest is not None and kind != "choice":
        attrs["maxlength"] = longest
    if kind in ("number", "integer"):
        attrs["step"] = "1" if kind == "integer" else "any"
        for bound in ("min", "max"):
            if field.get(bound) is not None:
                attrs[bound] = f"{field[bound]:g}"
        return forms.NumberInput(attrs=attrs)
    if kind == "money":
        # Text, not type=number: the browser would round or refuse what the server explains in words.
        return forms.TextInput(attrs={**attrs, "inputmode": "decimal"})
    if kind == "text":
        return forms.Textarea(attrs={**attrs, "rows": 4})
    if kind == "date":
        return forms.DateInput(attrs=attrs, format="%Y-%m-%d")
    if kind == "email":
        return forms.EmailInput(attrs=attrs)
    if kind == "boolean":
        return forms.CheckboxInput()
    if kind == "choice":
        return forms.Select(attrs=attrs)
    return forms.TextInput(attrs=attrs)


class StartForm(forms.Form):
    """A workflow's start form: one field per declared field.

    The engine's ``clean_start_data`` is the one validator (types, required, bounds,
    choices), so every request path checks the same rules; the view copies its errors
    onto these fields. The widgets carry the same rules for the browser.
    """

    def __init__(self, fields: list[FormField], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.declared = fields
        for spec in fields:
            widget = _widget(spec)
            if spec["type"] == "date":
                widget.input_type = "date"  # type: ignore[attr-defined]
            label = spec.get("label") or spec["name"]
            if spec["type"] == "boolean":
                field: forms.Field = forms.BooleanField(label=label, required=False, widget=widget)
            elif spec["type"] == "choice":
                # A plain text field behind the select: the engine reports a wrong choice, like every other error.
                widget.choices = [("", "Choose…")] + [(c, c) for c in spec.get("choices", [])]  # type: ignore[attr-defined]
                field = forms.CharField(label=label, required=False, widget=widget)
            else:
                field = forms.CharField(label=label, required=False, widget=widget, strip=True)
            field.initial = spec.get("default")
            field.is_required = bool(spec.get("required")) and spec["type"] != "boolean"  # type: ignore[attr-defined]
            self.fields[spec["name"]] = field

    def data_for_engine(self) -> dict[str, Any]:
        """The submitted values by field name, as the engine's validator takes them."""
        return {name: self.cleaned_data.get(name) for name in self.fields}


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[(APPROVED, "Approve"), (REJECTED, "Reject"), (CHANGES_REQUESTED, "Request changes")]
    )
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": "Comment (needed to reject or request changes)",
            }
        ),
    )
