"""Forms for requesters and approvers: start forms generated from a workflow's fields, and decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

from approvals.actions import APPROVED, CHANGES_REQUESTED, REJECTED
from approvals.delegation import active_users
from approvals.models import Profile, person
from orchestration import attachments
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


def request_values(fields: list[FormField], variables: dict[str, Any]) -> dict[str, Any]:
    """A request's values for its start form's fields, to fill the form again (1200.0 reads 1200)."""
    values = {f["name"]: variables.get(f["name"]) for f in fields}
    return {
        name: int(value) if isinstance(value, float) and value.is_integer() else value
        for name, value in values.items()
    }


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


class PersonChoiceField(forms.ModelChoiceField):
    """A pick among people, listed by name with their username."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{person(obj)} ({obj.get_username()})"


class OutOfOfficeForm(forms.Form):
    """Dates away and who decides meanwhile; :func:`approvals.delegation.check_absence` judges the rest."""

    starts = forms.DateField(
        label="First day away",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Give your first day away.", "invalid": "Give a date, like 2026-12-24."},
    )
    ends = forms.DateField(
        label="Last day away",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Give your last day away.", "invalid": "Give a date, like 2026-12-31."},
    )
    delegate = PersonChoiceField(
        label="Who decides for you",
        queryset=None,
        empty_label="Choose a person…",
        help_text="They approve your requests on your behalf, with your approval limit.",
        error_messages={
            "required": "Choose who decides for you while you are away.",
            "invalid_choice": "Choose someone from the list: people who can sign in, other than you.",
        },
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = active_users(exclude=user)  # type: ignore[attr-defined]
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)


class ForwardForm(forms.Form):
    """Hand one's task to someone else, saying why."""

    to = PersonChoiceField(
        label="Forward to",
        queryset=None,
        empty_label="Choose a person…",
        error_messages={
            "required": "Choose who gets the task.",
            "invalid_choice": "Choose someone from the list: people who can sign in, other than you.",
        },
    )
    reason = forms.CharField(
        label="Why",
        max_length=500,
        error_messages={"required": "Say why you forward the task: it is kept in the request's history."},
        widget=forms.TextInput(attrs={"placeholder": "For example: Dana handles IT purchases"}),
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = active_users(exclude=user)  # type: ignore[attr-defined]
        self.fields["to"].widget.attrs["class"] = "form-select"
        self.fields["reason"].widget.attrs["class"] = "form-control"


class _MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class _FilesField(forms.FileField):
    """Several files from one input; each is checked by ``orchestration.attachments``."""

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else [data]
        return [super(_FilesField, self).clean(upload, initial) for upload in files if upload]


class AttachmentsForm(forms.Form):
    """Optional files beside a start or resubmission form (prefixed: a workflow's own field may be "files").

    ``already``: files the request holds, counted against the limit.
    """

    def __init__(self, *args: Any, already: int = 0, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "attach")
        super().__init__(*args, **kwargs)
        self.already = already
        rules = attachments.limits()
        self.fields["files"] = _FilesField(
            label="Attachments (optional)",
            required=False,
            help_text=f"Quotes, invoices, specifications. {rules.described}",
            widget=_MultipleFileInput(attrs={"accept": rules.accept, "multiple": True}),
        )

    def clean_files(self) -> list[Any]:
        files: list[Any] = self.cleaned_data.get("files") or []
        try:
            attachments.check_files(files, already=self.already)
        except attachments.AttachmentRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return files


class TimeZoneForm(forms.ModelForm):
    """The zone one's pages show dates and times in."""

    class Meta:
        model = Profile
        fields = ("time_zone",)
        labels = {"time_zone": "Your time zone"}
        help_texts = {"time_zone": "Every date and time in Baton is shown to you in this zone."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].widget.attrs["class"] = "form-select"


class SavedViewForm(forms.Form):
    """A name for the inbox's current filters (``query``: the inbox's query string)."""

    name = forms.CharField(
        max_length=60,
        strip=True,
        error_messages={
            "required": "Give the view a name.",
            "max_length": "Keep the name under 60 characters.",
        },
    )
    query = forms.CharField(max_length=2000, required=False)
