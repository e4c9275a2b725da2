"""Forms for requesters and approvers: start forms generated from a workflow's fields, decisions, filters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import Q, QuerySet
from django.urls import reverse

from approvals.actions import APPROVED, CHANGES_REQUESTED, REJECTED
from orchestration.form_rendering import CompactRenderer
from orchestration.models import Workflow

if TYPE_CHECKING:
    from orchestration.bpmn.graph import FormField


def _widget(field: FormField) -> forms.Widget:
    attrs: dict[str, Any] = {}
    kind = field["type"]
    if field.get("required") and kind != "boolean":
        attrs["required"] = True
    if kind in ("number", "integer"):
        attrs["step"] = "1" if kind == "integer" else "any"
        for bound in ("min", "max"):
            if field.get(bound) is not None:
                attrs[bound] = f"{field[bound]:g}"
        return forms.NumberInput(attrs=attrs)
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


DUE_CHOICES = [
    ("", "Any due date"),
    ("overdue", "Overdue"),
    ("today", "Due today"),
    ("week", "Due within 7 days"),
    ("none", "No due date"),
]
SORT_CHOICES = [
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("due", "Due soonest"),
    ("-amount", "Largest amount"),
    ("amount", "Smallest amount"),
]


class InboxFilterForm(forms.Form):
    """The inbox's filters; every one maps to an indexed or row-local condition."""

    default_renderer = CompactRenderer  # a row of small filters above the list

    q = forms.CharField(required=False, label="Search")
    workflow = forms.ModelChoiceField(
        queryset=Workflow.objects.none(), required=False, empty_label="All workflows", to_field_name="key"
    )
    requester = forms.CharField(required=False)
    amount_min = forms.DecimalField(required=False, min_value=0, label="Amount from")
    amount_max = forms.DecimalField(required=False, min_value=0, label="Amount to")
    due = forms.ChoiceField(choices=DUE_CHOICES, required=False)
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False)

    def __init__(self, *args: Any, workflows: QuerySet[Workflow], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["workflow"].queryset = workflows  # type: ignore[attr-defined]
        for name, field in self.fields.items():
            chosen = name in ("workflow", "due", "sort")
            field.widget.attrs.update(
                {
                    # Each filter refreshes the list with the whole form: selects at once, typing after a pause.
                    "hx-get": reverse("approvals:inbox"),
                    "hx-trigger": "change" if chosen else "input changed delay:400ms, search",
                    "hx-include": "closest form",
                    "hx-target": "#task-list",
                    "hx-sync": "closest form:replace",
                }
            )
        self.fields["q"].widget.attrs["placeholder"] = "Search…"
        self.fields["q"].widget.input_type = "search"
        self.fields["requester"].widget.attrs["placeholder"] = "Requester"
        self.fields["amount_min"].widget.attrs["placeholder"] = "Min"
        self.fields["amount_max"].widget.attrs["placeholder"] = "Max"

    def search_q(self) -> Q:
        text = (self.cleaned_data.get("q") or "").strip()
        if not text:
            return Q()
        return (
            Q(subject__icontains=text)
            | Q(name__icontains=text)
            | Q(instance__workflow__name__icontains=text)
            | Q(requester__username__icontains=text)
            | Q(requester__first_name__icontains=text)
            | Q(requester__last_name__icontains=text)
        )
