"""Rows people add in the panel: form fields, what a message carries, input mappings, variables to set, results to keep."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.forms.formsets import BaseFormSet, formset_factory

from designer.cel_builder import check_cel
from designer.panels.base import PanelRenderer, live_check, name_from_words, variable_name
from designer.scope import TYPE_WORDS, Scope
from orchestration import expressions, values
from orchestration.bpmn.graph import MESSAGE_FIELD_TYPES, VariableType
from orchestration.engine.human import DEFAULT_MAX_LENGTH, MAX_LENGTH_CEILING

# --- rows: form fields, mappings, Set data


class RowForm(forms.Form):
    """One row of a row set, checked against the variables in scope (and ``extra`` ones, like ``result``)."""

    default_renderer = PanelRenderer

    def __init__(
        self,
        *args: Any,
        scope: Scope | None = None,
        extra: Mapping[str, VariableType] | None = None,
        check_url: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope or Scope(())
        self.extra = dict(extra or {})
        if check_url and "expression" in self.fields:
            vals = {"with": next(iter(self.extra))} if self.extra else {}
            live_check(self, "expression", check_url, **vals)

    def types(self) -> dict[str, VariableType]:
        return {**self.scope.types(), **self.extra}

    def clean_name(self) -> str:
        return variable_name(name_from_words(self.cleaned_data["name"]))


FIELD_TYPES: tuple[tuple[str, str], ...] = (
    ("string", "Short text"),
    ("text", "Long text"),
    ("email", "Email address"),
    ("number", "Number"),
    ("money", "Money amount"),
    ("integer", "Whole number"),
    ("boolean", "Yes / no"),
    ("date", "Date"),
    ("choice", "Choice from a list"),
)


def _placeholder(text: str) -> forms.TextInput:
    return forms.TextInput(attrs={"placeholder": text})


class FormFieldRow(RowForm):
    name = forms.CharField(label="Field name", max_length=100, widget=_placeholder("name, e.g. amount"))
    label = forms.CharField(label="Label", max_length=200, required=False, widget=_placeholder("Label"))
    type = forms.ChoiceField(label="Type", choices=FIELD_TYPES)
    required = forms.BooleanField(label="Required", required=False)
    min = forms.CharField(label="Min", max_length=40, required=False, widget=_placeholder("min"))
    max = forms.CharField(label="Max", max_length=40, required=False, widget=_placeholder("max"))
    choices = forms.CharField(
        label="Choices", max_length=1000, required=False, widget=_placeholder("Choices: USD, EUR, GBP")
    )
    default = forms.CharField(label="Default", max_length=200, required=False, widget=_placeholder("default"))
    currency = forms.CharField(
        label="Its currency is in the field",
        max_length=100,
        required=False,
        widget=_placeholder("currency"),
        help_text="A money amount's currency: the form field holding the code (blank: currency).",
    )
    max_length = forms.IntegerField(
        label="Max characters",
        required=False,
        min_value=1,
        max_value=MAX_LENGTH_CEILING,
        widget=forms.NumberInput(attrs={"placeholder": "max characters"}),
        help_text="For text: the longest answer the form takes.",
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("type", "string")
        if data.get("max_length") is not None and kind not in DEFAULT_MAX_LENGTH:
            self.add_error("max_length", "Only text fields have a length.")
        choices = [c.strip() for c in data.get("choices", "").split(",") if c.strip()]
        if kind == "choice" and not choices:
            self.add_error("choices", "List the choices, separated by commas.")
        bounds: dict[str, float] = {}
        for key in ("min", "max"):
            raw = data.get(key, "").strip()
            if raw:
                bound = values.parse_number(raw)
                if bound is None:
                    self.add_error(key, f"{raw!r} is not a number.")
                else:
                    bounds[key] = bound
        if bounds.get("min", -math.inf) > bounds.get("max", math.inf):
            self.add_error("max", "Max is below min.")
        default = data.get("default", "").strip()
        if default and values.field_default(default, kind, choices) is None:
            self.add_error(
                "default", f"{default!r} is not a valid {dict(FIELD_TYPES).get(kind, kind).lower()}."
            )
        return data

    @classmethod
    def initial_from(cls, item: Mapping[str, str]) -> dict[str, Any]:
        required = bool(values.parse_flag(item.get("required", "")))
        plain = {k: item.get(k, "") for k in cls.base_fields if k not in ("required", "max_length")}
        return {**plain, "required": required, "max_length": item.get("maxLength", "")}

    def item(self) -> dict[str, Any]:
        data = self.cleaned_data
        item: dict[str, Any] = {"name": data["name"], "label": data["label"].strip(), "type": data["type"]}
        if data["required"]:
            item["required"] = True
        for key in ("min", "max", "choices", "default", "currency"):
            item[key] = data[key].strip()
        if data.get("max_length") is not None:
            item["maxLength"] = str(data["max_length"])
        return {k: v for k, v in item.items() if v != ""}


_MESSAGE_TYPE_WORDS = {
    "string": "Text",
    "number": "Number",
    "integer": "Whole number",
    "boolean": "Yes / no",
    "date": "Date",
    "map": "Record (several values)",
    "list": "List",
}
# What a message may carry is the engine's list; a type added there without words here fails at import.
MESSAGE_TYPES = tuple((t, _MESSAGE_TYPE_WORDS[t]) for t in MESSAGE_FIELD_TYPES)


class MessageFieldRow(RowForm):
    """One value a message carries: its name (a variable for later blocks), its type, whether it must come."""

    name = forms.CharField(label="Name", max_length=100, widget=_placeholder("name, e.g. quantity"))
    type = forms.ChoiceField(label="Type", choices=MESSAGE_TYPES, initial="string")
    required = forms.BooleanField(label="Must be sent", required=False)

    @classmethod
    def initial_from(cls, item: Mapping[str, str]) -> dict[str, Any]:
        return {
            "name": item.get("name", ""),
            "type": item.get("type", "") or "string",
            "required": bool(values.parse_flag(item.get("required", ""))),
        }

    def item(self) -> dict[str, Any]:
        data = self.cleaned_data
        item: dict[str, Any] = {"name": data["name"], "type": data["type"]}
        if data["required"]:
            item["required"] = True
        return item


ANSWER_TYPES: tuple[tuple[str, str], ...] = (
    ("string", "Text"),
    ("number", "Number"),
    ("integer", "Whole number"),
    ("boolean", "Yes / no"),
    ("date", "Date"),
    ("list", "List of texts"),
)


class AnswerFieldRow(RowForm):
    """One value an AI must answer with: a typed variable for later blocks, described for the model."""

    name = forms.CharField(label="Name", max_length=100, widget=_placeholder("name, e.g. category"))
    type = forms.ChoiceField(label="Type", choices=ANSWER_TYPES, initial="string")
    description = forms.CharField(
        label="What it is", max_length=500, required=False, widget=_placeholder("What it is, for the AI")
    )
    choices = forms.CharField(
        label="Allowed values",
        max_length=1000,
        required=False,
        widget=_placeholder("Allowed values: IT hardware, Travel, Other"),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        if self.cleaned_data.get("choices", "").strip() and self.cleaned_data.get("type") != "string":
            self.add_error("choices", "Only text answers have a list of allowed values.")
        return self.cleaned_data

    @classmethod
    def initial_from(cls, item: Mapping[str, str]) -> dict[str, Any]:
        return {k: item.get(k, "") for k in cls.base_fields} | {"type": item.get("type") or "string"}

    def item(self) -> dict[str, Any]:
        data = self.cleaned_data
        choices = ",".join(c.strip() for c in data["choices"].split(",") if c.strip())
        item = {"name": data["name"], "type": data["type"], "description": data["description"].strip()}
        return {k: v for k, v in {**item, "choices": choices}.items() if v}


class ToolRow(RowForm):
    """A tool an AI step's model may use: an action declaring inputs, and the system it calls (if it needs one)."""

    action = forms.ChoiceField(label="Tool", choices=())
    connection = forms.ChoiceField(label="System", choices=(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from orchestration.connectors import ai_tools
        from orchestration.models import Connection

        tools = [(a.key, a.label) for a in ai_tools.usable_actions()]
        systems = [(c.name, str(c)) for c in Connection.objects.order_by("name")]
        action, system = cast(forms.ChoiceField, self.fields["action"]), self.fields["connection"]
        action.choices = [("", "Choose a tool…"), *tools]
        cast(forms.ChoiceField, system).choices = [("", "Its usual system"), *systems]

    @classmethod
    def initial_from(cls, item: Mapping[str, str]) -> dict[str, Any]:
        return {"action": item.get("action", ""), "connection": item.get("connection", "")}

    def item(self) -> dict[str, Any]:
        item = {"action": self.cleaned_data["action"], "connection": self.cleaned_data["connection"]}
        return {k: v for k, v in item.items() if v}


class MappingRow(RowForm):
    """``name ← expression``: a connector input, or a variable read from a webhook's payload."""

    name = forms.CharField(label="Name", max_length=100, widget=_placeholder("name"))
    expression = forms.CharField(
        label="Value", max_length=expressions.MAX_LENGTH, widget=_placeholder("value")
    )
    check_names = False  # connector inputs may use any name the connector reads

    def clean_name(self) -> str:
        if self.check_names:
            return super().clean_name()
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Give it a name.")
        return name

    def clean_expression(self) -> str:
        source: str = self.cleaned_data["expression"].strip()
        check_cel(source, self.types())
        return source

    @classmethod
    def initial_from(cls, item: Mapping[str, str]) -> dict[str, Any]:
        return {k: item.get(k, "") for k in cls.base_fields}

    def item(self) -> dict[str, Any]:
        return {"name": self.cleaned_data["name"], "expression": self.cleaned_data["expression"]}


class VariableRow(MappingRow):
    """``variable ← expression``: the name becomes a variable later blocks read."""

    check_names = True


OUTPUT_TYPES: tuple[tuple[str, str], ...] = (
    ("", "Any"),
    ("string", "Text"),
    ("number", "Number"),
    ("integer", "Whole number"),
    ("boolean", "Yes / no"),
    ("date", "Date"),
    ("map", "Record"),
    ("list", "List"),
)


class OutputRow(VariableRow):
    type = forms.ChoiceField(label="Type", choices=OUTPUT_TYPES, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["placeholder"] = "name"
        self.fields["expression"].widget.attrs["placeholder"] = "result.…"

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        source, declared = data.get("expression"), data.get("type")
        if source and declared:
            try:
                found = expressions.type_of(source, self.types())
            except expressions.ExpressionError:
                return data
            if found not in ("dyn", declared) and (declared, found) not in {
                ("number", "integer"),
                ("date", "string"),
            }:
                self.add_error("type", f"The value gives {TYPE_WORDS[found]}, not {TYPE_WORDS[declared]}.")
        return data

    def item(self) -> dict[str, Any]:
        item = super().item()
        if self.cleaned_data.get("type"):
            item["type"] = self.cleaned_data["type"]
        return item


class Rows(BaseFormSet):
    """Rows added in the browser; a blank row is ignored, two rows may not share a name."""

    what = "row"

    def initial_form_count(self) -> int:
        # Posted rows are all "extra": a row someone emptied is dropped rather than refused.
        return 0 if self.is_bound else super().initial_form_count()

    def clean(self) -> None:
        seen: set[str] = set()
        for form in self.forms:
            name = form.cleaned_data.get("name") if hasattr(form, "cleaned_data") else None
            if not name:
                continue
            if name in seen:
                form.add_error("name", f"Another {self.what} is already named {name}.")
            seen.add(name)

    def items(self) -> list[dict[str, Any]]:
        return [f.item() for f in self.forms if f.has_changed() and f.cleaned_data]


def _row_set(form: type[RowForm], what: str) -> type[Rows]:
    rows = cast(type[Rows], formset_factory(form, formset=Rows, extra=0, max_num=200, validate_max=True))
    rows.what = what
    return rows


FormFieldRows = _row_set(FormFieldRow, "field")
MessageFieldRows = _row_set(MessageFieldRow, "value")
AnswerFieldRows = _row_set(AnswerFieldRow, "answer field")
ToolRows = _row_set(ToolRow, "tool")
InputRows = _row_set(MappingRow, "input")
VariableRows = _row_set(VariableRow, "variable")
OutputRows = _row_set(OutputRow, "output")
