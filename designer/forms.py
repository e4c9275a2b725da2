"""The side panel's forms, one per block kind, and the plain-language helpers they write CEL with.

Each form reads its initial values from one element of the posted diagram
(:meth:`BlockForm.for_element`), validates what the person typed against the
variables in scope there, and answers with the payload the canvas applies
(:meth:`BlockForm.payload`, the shape of :class:`designer.diagram.Payload`). The
attributes and elements a form writes are exactly those the compiler reads.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, cast

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.forms.formsets import BaseFormSet, formset_factory
from django.urls import reverse
from lxml import etree

from designer.cel_builder import (
    BUILDER_TYPES,
    OPERATORS,
    NotRepresentable,
    Operator,
    build_condition,
    cel_error,
    cel_string,
    cel_to_recipients,
    cel_to_text,
    check_cel,
    operand_kind,
    parse_condition,
    recipients_to_cel,
    text_to_cel,
)
from designer.diagram import (
    Diagram,
    Payload,
    baton_attr,
    condition,
    event_definition,
    extension_items,
    local,
    message,
    script,
    timer,
)
from designer.scope import NUMERIC, TYPE_WORDS, Scope, Variable
from orchestration import expressions, values
from orchestration.access import visible_workflows
from orchestration.bpmn.graph import VariableType
from orchestration.connectors import registry
from orchestration.connectors.base import Connector
from orchestration.durations import UNITS, duration_to_iso, iso_to_duration
from orchestration.models import Workflow
from orchestration.values import is_timestamp

# --- durations as a number and a unit


def _duration_fields(label: str, help_text: str) -> tuple[forms.IntegerField, forms.ChoiceField]:
    count = forms.IntegerField(
        label=label, required=False, min_value=1, max_value=100000, help_text=help_text
    )
    unit = forms.ChoiceField(label=f"{label} unit", choices=[(u, w) for u, w, _ in UNITS], initial="days")
    return count, unit


# --- Bootstrap look and checks while typing


def style(form: forms.Form) -> None:
    """Give every widget its Bootstrap class (compact, for a narrow panel)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        if isinstance(widget, forms.RadioSelect | forms.CheckboxInput):
            widget.attrs["class"] = "form-check-input"
            continue
        css = (
            "form-select form-select-sm"
            if isinstance(widget, forms.Select)
            else "form-control form-control-sm"
        )
        widget.attrs["class"] = css
        # Row inputs have no visible label of their own.
        widget.attrs.setdefault("aria-label", str(field.label))


def mark_invalid(form: forms.Form) -> None:
    for name in form.errors:
        if name in form.fields:
            widget = form.fields[name].widget
            widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"
            widget.attrs["aria-invalid"] = "true"


def live_check(form: forms.Form, name: str, url: str, **vals: str) -> None:
    """Check ``name``'s expression on the server while it is typed (``designer:panel-check``)."""
    html_name = form.add_prefix(name)
    form.fields[name].widget.attrs.update(
        {
            "hx-post": url,
            "hx-trigger": "keyup changed delay:400ms, change",
            "hx-target": f"#check-{html_name}",
            "hx-swap": "innerHTML",
            "hx-sync": "this:queue last",
            "hx-vals": json.dumps({"check": html_name, **vals}),
            "spellcheck": "false",
            "autocomplete": "off",
        }
    )


# --- rows: form fields, mappings, Set data


class _RowForm(forms.Form):
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
        style(self)
        if check_url and "expression" in self.fields:
            vals = {"with": next(iter(self.extra))} if self.extra else {}
            live_check(self, "expression", check_url, **vals)

    def types(self) -> dict[str, VariableType]:
        return {**self.scope.types(), **self.extra}

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not expressions.is_identifier(name):
            raise ValidationError("Use letters, digits and _, not starting with a digit.")
        if name in expressions.BUILTIN_VARIABLES or name in ("result", "payload"):
            raise ValidationError(f"{name} is a name Baton keeps for itself.")
        return name


FIELD_TYPES: tuple[tuple[str, str], ...] = (
    ("string", "Short text"),
    ("text", "Long text"),
    ("email", "Email address"),
    ("number", "Number"),
    ("integer", "Whole number"),
    ("boolean", "Yes / no"),
    ("date", "Date"),
    ("choice", "Choice from a list"),
)


def _placeholder(text: str) -> forms.TextInput:
    return forms.TextInput(attrs={"placeholder": text})


class FormFieldRow(_RowForm):
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

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("type", "string")
        choices = [c.strip() for c in data.get("choices", "").split(",") if c.strip()]
        if kind == "choice" and not choices:
            self.add_error("choices", "List the choices, separated by commas.")
        bounds: dict[str, float] = {}
        for key in ("min", "max"):
            raw = data.get(key, "").strip()
            if raw:
                try:
                    bounds[key] = float(raw)
                except ValueError:
                    self.add_error(key, f"{raw!r} is not a number.")
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
        return {**{k: item.get(k, "") for k in cls.base_fields if k != "required"}, "required": required}

    def item(self) -> dict[str, Any]:
        data = self.cleaned_data
        item: dict[str, Any] = {"name": data["name"], "label": data["label"].strip(), "type": data["type"]}
        if data["required"]:
            item["required"] = True
        for key in ("min", "max", "choices", "default"):
            item[key] = data[key].strip()
        return {k: v for k, v in item.items() if v != ""}


class MappingRow(_RowForm):
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
        self.fields["name"].widget.attrs["placeholder"] = "variable"
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


class _Rows(BaseFormSet):
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


def _rows(form: type[_RowForm], what: str) -> type[_Rows]:
    rows = cast(type[_Rows], formset_factory(form, formset=_Rows, extra=0, max_num=200, validate_max=True))
    rows.what = what
    return rows


FormFieldRows = _rows(FormFieldRow, "field")
InputRows = _rows(MappingRow, "input")
VariableRows = _rows(VariableRow, "variable")
OutputRows = _rows(OutputRow, "output")


# --- the panel's forms


@dataclass
class PanelContext:
    """What a panel form knows about: the workflow, the diagram, the element, the variables in scope."""

    workflow: Workflow
    diagram: Diagram
    element: etree._Element  # the process itself when nothing is selected
    element_id: str
    scope: Scope
    user: Any = None


class BlockForm(forms.Form):
    """A block's settings. Subclasses set the class attributes and write ``initial``/``payload``."""

    kind: ClassVar[str]
    # What the panel's header says; a form may refine them for the element (a Decision that merges).
    label: str
    icon: str
    help: str
    partial: ClassVar[str] = "plain"
    row_sets: ClassVar[dict[str, tuple[type[_Rows], str, Mapping[str, VariableType]]]] = {}

    element = forms.CharField(widget=forms.HiddenInput)
    name = forms.CharField(label="Name", required=False, max_length=300, help_text="Shown on the diagram.")

    # Expression fields checked while typed: field name -> extra hx-vals ("expect", "with").
    live: ClassVar[dict[str, dict[str, str]]] = {}

    def __init__(self, *args: Any, ctx: PanelContext, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx = ctx
        self.check_url = reverse("designer:panel-check", args=[ctx.workflow.key])
        self.rows: dict[str, _Rows] = {}
        for prefix, (rows_class, kind, extra) in self.row_sets.items():
            initial = None if self.is_bound else self.initial_rows(prefix, kind)
            self.rows[prefix] = rows_class(
                self.data if self.is_bound else None,
                prefix=prefix,
                initial=initial,
                form_kwargs={"scope": self.row_scope(prefix), "extra": extra, "check_url": self.check_url},
            )
        style(self)
        for name, vals in self.live.items():
            live_check(self, name, self.check_url, **vals)

    # reading the element

    @classmethod
    def for_element(cls, ctx: PanelContext) -> BlockForm:
        """The unbound form, filled from the element."""
        return cls(
            ctx=ctx,
            initial={"element": ctx.element_id, "name": _name(ctx.element), **cls.initial_from_xml(ctx)},
        )

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        return {}

    def initial_rows(self, prefix: str, kind: str) -> list[dict[str, Any]]:
        row = self.row_sets[prefix][0].form
        return [row.initial_from(item) for item in extension_items(self.ctx.element, kind)]

    def row_scope(self, prefix: str) -> Scope:
        return self.ctx.scope

    # validating and answering

    def is_valid(self) -> bool:
        valid = all([super().is_valid(), *(rows.is_valid() for rows in self.rows.values())])
        for form in [self, *(row for rows in self.rows.values() for row in rows.forms), *self.subforms()]:
            mark_invalid(form)
        return valid

    def subforms(self) -> list[forms.Form]:
        """Other forms the panel shows (a connector's settings)."""
        return []

    def check(
        self, field: str, source: str, expect: Any = None, types: Mapping[str, VariableType] | None = None
    ) -> str:
        """Type-check an expression field against the scope; record the error on ``field``."""
        try:
            check_cel(source, self.ctx.scope.types() if types is None else types, expect)
        except ValidationError as exc:
            self.add_error(field, exc)
        return source

    def payload(self) -> Payload:
        """What to change on the canvas; call after :meth:`is_valid`."""
        payload: Payload = {"element": self.ctx.element_id, "name": self.cleaned_data["name"].strip()}
        return payload

    def _extensions(self) -> dict[str, list[dict[str, Any]]]:
        return {kind: self.rows[prefix].items() for prefix, (_, kind, _) in self.row_sets.items()}

    def variables(self, *types: VariableType) -> list[tuple[str, list[Variable]]]:
        """Grouped variables for a picker (all of them, or those of ``types``)."""
        scope = self.ctx.scope
        return scope.groups(scope.of_type(*types) if types else None)


def _name(el: etree._Element) -> str:
    return " ".join(el.get("name", "").split())


def _attr(ctx: PanelContext, name: str) -> str:
    return (baton_attr(ctx.element, name) or "").strip()


def _or_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


class ProcessForm(BlockForm):
    kind = "process"
    label = "Workflow"
    icon = "bi-diagram-2"
    help = "Click a block or a path to edit it. The name here is the diagram's own name."
    partial = "process"


ASSIGNEE_RULES: tuple[tuple[str, str], ...] = (
    ("user", "A named person"),
    ("group", "A group's queue (anyone in it can claim)"),
    ("manager", "The requester's manager"),
    ("authority_chain", "Up the management chain until someone's signature limit covers the amount"),
)


class ApprovalForm(BlockForm):
    kind = "approval"
    label = "Approval"
    icon = "bi-person-check"
    help = "Someone approves or rejects. The request waits here until they decide."
    partial = "approval"
    live = {"amount": {"expect": "number"}}

    assignee_rule = forms.ChoiceField(label="Who decides", choices=ASSIGNEE_RULES, widget=forms.RadioSelect)
    assignee = forms.ChoiceField(label="Person", required=False)
    candidate_groups = forms.MultipleChoiceField(
        label="Groups", required=False, widget=forms.CheckboxSelectMultiple
    )
    quorum = forms.ChoiceField(
        label="How many must approve",
        choices=[("any", "Any one of them"), ("all", "All of them")],
        initial="any",
        required=False,
        widget=forms.RadioSelect,
    )
    amount = forms.CharField(
        label="Amount",
        required=False,
        max_length=expressions.MAX_LENGTH,
        help_text="The amount compared with signature limits; a number variable or an expression.",
    )
    due_count, due_unit = _duration_fields("Due in", "Leave empty for no due date.")
    reminder_count, reminder_unit = _duration_fields("Remind after", "Sends a reminder if still undecided.")
    escalate_to = forms.ChoiceField(
        label="When overdue, hand over to",
        required=False,
        help_text="A group that takes over an overdue task.",
    )
    result_variable = forms.CharField(
        label="Save the decision as",
        required=False,
        max_length=100,
        help_text="Later blocks read <code>approval.outcome</code> and <code>approval.comment</code>.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = get_user_model()._default_manager.filter(is_active=True).order_by("username")
        people = [
            (u.get_username(), f"{u.get_full_name() or u.get_username()} ({u.get_username()})") for u in users
        ]
        groups = list(Group.objects.order_by("name").values_list("name", flat=True))
        if self.is_bound:
            current_groups = self.data.getlist("candidate_groups") if hasattr(self.data, "getlist") else []
        else:
            current_groups = self.initial.get("candidate_groups") or []
        _choice_field(self.fields["assignee"]).choices = _with_current(
            [("", "Choose a person…"), *people], self._current("assignee")
        )
        _choice_field(self.fields["candidate_groups"]).choices = [(g, g) for g in groups] + [
            (g, f"{g} (not found)") for g in current_groups if g and g not in groups
        ]
        _choice_field(self.fields["escalate_to"]).choices = _with_current(
            [("", "No one (it stays overdue)"), *((g, g) for g in groups)], self._current("escalate_to")
        )
        self.fields["result_variable"].widget.attrs["placeholder"] = "approval"

    def numeric_variables(self) -> list[tuple[str, list[Variable]]]:
        return self.variables("number", "integer")

    def _current(self, name: str) -> str:
        return str((self.data.get(name) if self.is_bound else self.initial.get(name)) or "")

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        groups = [g.strip() for g in _attr(ctx, "candidateGroups").split(",") if g.strip()]
        rule = _attr(ctx, "assigneeRule") or ("user" if _attr(ctx, "assignee") else "group" if groups else "")
        due_count, due_unit = iso_to_duration(_attr(ctx, "dueIn"))
        reminder_count, reminder_unit = iso_to_duration(_attr(ctx, "reminderIn"))
        return {
            "assignee_rule": rule,
            "assignee": _attr(ctx, "assignee"),
            "candidate_groups": groups,
            "quorum": _attr(ctx, "quorum") or "any",
            "amount": _attr(ctx, "amount"),
            "due_count": due_count,
            "due_unit": due_unit,
            "reminder_count": reminder_count,
            "reminder_unit": reminder_unit,
            "escalate_to": _attr(ctx, "escalateTo"),
            "result_variable": _attr(ctx, "resultVariable"),
        }

    def clean_result_variable(self) -> str:
        name: str = self.cleaned_data["result_variable"].strip()
        if name and not expressions.is_identifier(name):
            raise ValidationError("Use letters, digits and _, not starting with a digit.")
        if name in expressions.BUILTIN_VARIABLES or name in ("result", "payload"):
            raise ValidationError(f"{name} is a name Baton keeps for itself.")
        return name

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        rule = data.get("assignee_rule")
        if rule == "user" and not data.get("assignee"):
            self.add_error("assignee", "Choose the person who decides.")
        if rule == "group" and not data.get("candidate_groups"):
            self.add_error("candidate_groups", "Choose at least one group.")
        amount = data.get("amount", "").strip()
        if amount:
            self.check("amount", amount, "number")
        elif rule == "authority_chain" and self.ctx.scope.types().get("amount") not in NUMERIC:
            self.add_error("amount", "Say which amount to compare with signature limits.")
        for key in ("due", "reminder"):
            if data.get(f"{key}_count") and not data.get(f"{key}_unit"):
                self.add_error(f"{key}_unit", "Choose a unit.")
        if data.get("escalate_to") and not data.get("due_count"):
            self.add_error("due_count", "Give a due date: the task is handed over when it is overdue.")
        return data

    def payload(self) -> Payload:
        payload = super().payload()
        data = self.cleaned_data
        rule = data["assignee_rule"]
        payload["attrs"] = {
            "baton:assigneeRule": rule,
            "baton:assignee": data["assignee"] if rule == "user" else None,
            "baton:candidateGroups": ",".join(data["candidate_groups"]) if rule == "group" else None,
            "baton:quorum": (data["quorum"] or "any") if rule == "group" else None,
            "baton:amount": _or_none(data["amount"]),
            "baton:dueIn": duration_to_iso(data["due_count"], data["due_unit"])
            if data["due_count"]
            else None,
            "baton:reminderIn": (
                duration_to_iso(data["reminder_count"], data["reminder_unit"])
                if data["reminder_count"]
                else None
            ),
            "baton:escalateTo": _or_none(data["escalate_to"]),
            "baton:resultVariable": _or_none(data["result_variable"]),
        }
        return payload


def _choice_field(field: forms.Field) -> forms.ChoiceField:
    assert isinstance(field, forms.ChoiceField)
    return field


def _with_current(choices: list[tuple[str, str]], current: Any) -> list[tuple[str, str]]:
    """Keep a value the diagram names even when it is not (or no longer) offered."""
    if isinstance(current, list):
        current = current[0] if current else ""
    if current and all(value != current for value, _ in choices):
        return [*choices, (current, f"{current} (not found)")]
    return choices


def _connector_prefix(name: str) -> str:
    return "config-" + re.sub(r"[^A-Za-z0-9]+", "-", name)


class _ConnectorSettings:
    """The selected connector's ``config_form``, stored as ``baton:property`` name/value pairs."""

    def __init__(self, form: BlockForm, connectors: Iterable[type[Connector]], current: str) -> None:
        self.form = form
        stored = {p.get("name", ""): p.get("value", "") for p in _items(form.ctx, "property")}
        self.current = current
        self.configs: list[tuple[type[Connector], forms.Form]] = []
        chosen = form.data.get("connector", current) if form.is_bound else current
        for connector in connectors:
            prefix = _connector_prefix(connector.name)
            if form.is_bound and connector.name == chosen:
                config = connector.config_form(form.data, prefix=prefix)
            elif form.is_bound:
                # The other connectors' (hidden) settings keep what was typed, unvalidated: their
                # "required" errors are not this block's problem.
                typed = {
                    name: form.data.get(f"{prefix}-{name}") for name in connector.config_form.base_fields
                }
                config = connector.config_form(initial={k: v for k, v in typed.items() if v}, prefix=prefix)
            else:
                initial = stored if connector.name == self.current else {}
                config = connector.config_form(initial=initial, prefix=prefix)
            _defaults_as_placeholders(config, stored if connector.name == current else {})
            style(config)
            self.configs.append((connector, config))

    def config_for(self, name: str) -> forms.Form | None:
        return next((config for connector, config in self.configs if connector.name == name), None)

    def properties(self, name: str) -> list[dict[str, Any]]:
        config = self.config_for(name)
        if config is None:
            return []
        items = []
        for field in config:
            value = field.data
            if isinstance(value, bool):
                value = "true" if value else ""
            value = "" if value is None else str(value).strip()
            if value:
                items.append({"name": field.name, "value": value})
        known = {field.name for field in config}
        if name == self.current:  # settings the form does not know are kept for the same connector
            items += [
                {"name": p.get("name", ""), "value": p.get("value", "")}
                for p in _items(self.form.ctx, "property")
                if p.get("name") not in known
            ]
        return items


def _defaults_as_placeholders(config: forms.Form, stored: Mapping[str, str]) -> None:
    """Show a setting's default without writing it: only what someone sets becomes a property."""
    for name, field in config.fields.items():
        default = field.initial
        if default is not None and default != "":
            field.widget.attrs.setdefault(
                "placeholder", f"{default:g}" if isinstance(default, float) else str(default)
            )
        if isinstance(field, forms.ChoiceField) and not field.required:
            choices = list(cast(list[tuple[Any, Any]], field.choices))
            if all(value != "" for value, _ in choices):
                shown = f"Default ({default})" if default not in (None, "") else "—"
                field.choices = [("", shown), *choices]
        if not config.is_bound:
            config.initial[name] = stored.get(name, config.initial.get(name, ""))


def _items(ctx: PanelContext, kind: str) -> list[dict[str, str]]:
    return extension_items(ctx.element, kind)


class AutomatedStepForm(BlockForm):
    kind = "automated"
    label = "Automated step"
    icon = "bi-gear"
    help = "Baton runs a connector: calls a system, places an order, … Its results become variables."
    partial = "automated"
    row_sets = {
        "inputs": (InputRows, "input", {}),
        "outputs": (OutputRows, "output", {"result": "map"}),
    }

    connector = forms.ChoiceField(label="What it runs")
    retries = forms.IntegerField(
        label="Retries",
        required=False,
        min_value=0,
        max_value=50,
        help_text="Tries again after a failure (default 3).",
    )
    retry_backoff = forms.FloatField(
        label="Wait between tries (seconds)",
        required=False,
        min_value=0,
        max_value=86400,
        help_text="Doubles on each retry (default 2).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        connectors = registry.all_connectors()
        current = _attr(self.ctx, "connector")
        _choice_field(self.fields["connector"]).choices = _with_current(
            [("", "Choose…"), *((c.name, c.label) for c in connectors)], current
        )
        self.settings = _ConnectorSettings(self, connectors, current)

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        retries, backoff = _attr(ctx, "retries"), _attr(ctx, "retryBackoff")
        return {
            "connector": _attr(ctx, "connector"),
            "retries": retries or None,
            "retry_backoff": backoff or None,
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        config = self.settings.config_for(data.get("connector", ""))
        if config is not None and not config.is_valid():
            self.add_error(None, "Check the connector's settings below.")
        return data

    def payload(self) -> Payload:
        payload = super().payload()
        data = self.cleaned_data
        backoff = data["retry_backoff"]
        payload["attrs"] = {
            "baton:connector": data["connector"],
            "baton:retries": data["retries"],
            "baton:retryBackoff": None if backoff is None else float(backoff),
        }
        payload["extensions"] = {
            "property": self.settings.properties(data["connector"]),
            **self._extensions(),
        }
        return payload

    def subforms(self) -> list[forms.Form]:
        config = self.settings.config_for(self.data.get("connector", "") if self.is_bound else "")
        return [config] if config is not None else []

    def connector_choices(self) -> list[tuple[type[Connector], forms.Form, bool]]:
        selected = (self.data.get("connector") if self.is_bound else self.initial.get("connector")) or ""
        return [
            (connector, config, connector.name == selected) for connector, config in self.settings.configs
        ]


TextMode = Literal["text", "cel"]


class _TextOrCel:
    """A notify field people write as text with {{variables}}, stored as a CEL expression."""

    def __init__(self, to_cel: Callable[[str, Scope], str], to_text: Callable[[str, Scope], str]) -> None:
        self.to_cel, self.to_text = to_cel, to_text

    def initial(self, source: str, scope: Scope) -> tuple[str, TextMode]:
        if not source:
            return "", "text"
        try:
            return self.to_text(source, scope), "text"
        except NotRepresentable:
            return source, "cel"


NOTIFY_TEXTS = {
    "to": _TextOrCel(recipients_to_cel, cel_to_recipients),
    "subject": _TextOrCel(text_to_cel, cel_to_text),
    "body": _TextOrCel(text_to_cel, cel_to_text),
}
_MODES = [("text", "Text"), ("cel", "Expression")]


class NotifyForm(BlockForm):
    kind = "notify"
    label = "Notify"
    icon = "bi-envelope"
    help = "Sends an email. Write {{variable}} to put a value in the text, or pick one from the list."
    partial = "notify"
    live = {"to": {}, "subject": {}, "body": {}}

    to = forms.CharField(
        label="To",
        max_length=2000,
        help_text="Usernames or addresses, separated by commas; {{initiator}} is who started the request.",
    )
    to_mode = forms.ChoiceField(choices=_MODES, initial="text", required=False, widget=forms.HiddenInput)
    subject = forms.CharField(label="Subject", max_length=expressions.MAX_LENGTH)
    subject_mode = forms.ChoiceField(choices=_MODES, initial="text", required=False, widget=forms.HiddenInput)
    body = forms.CharField(
        label="Message",
        max_length=expressions.MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    body_mode = forms.ChoiceField(choices=_MODES, initial="text", required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        email = registry.get("email").__class__
        self.settings = _ConnectorSettings(self, [email], "email")
        self.config = self.settings.config_for("email")
        self.fields["to"].widget.attrs["placeholder"] = "{{initiator}}"

    def subforms(self) -> list[forms.Form]:
        return [self.config] if self.config is not None else []

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        inputs = {i.get("name", ""): i.get("expression", "") for i in _items(ctx, "input")}
        initial: dict[str, Any] = {}
        for name, text in NOTIFY_TEXTS.items():
            initial[name], initial[f"{name}_mode"] = text.initial(inputs.get(name, "").strip(), ctx.scope)
        return initial

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        self.cel: dict[str, str] = {}
        for name, text in NOTIFY_TEXTS.items():
            value = data.get(name, "").strip()
            if not value:
                continue
            try:
                source = text.to_cel(value, self.ctx.scope) if data.get(f"{name}_mode") != "cel" else value
                expect = None if name == "to" else "text"
                check_cel(source, self.ctx.scope.types(), expect)  # type: ignore[arg-type]
            except ValidationError as exc:
                self.add_error(name, exc)
                continue
            self.cel[name] = source
        if self.config is not None and not self.config.is_valid():
            self.add_error(None, "Check the email settings below.")
        return data

    def payload(self) -> Payload:
        payload = super().payload()
        others = [i for i in _items(self.ctx, "input") if i.get("name") not in NOTIFY_TEXTS]
        inputs = [{"name": name, "expression": self.cel[name]} for name in NOTIFY_TEXTS if name in self.cel]
        payload["attrs"] = {"baton:connector": "email"}
        payload["extensions"] = {
            "property": self.settings.properties("email"),
            "input": inputs
            + [{"name": i.get("name", ""), "expression": i.get("expression", "")} for i in others],
        }
        return payload


class DecisionForm(BlockForm):
    kind = "decision"
    label = "Decision"
    icon = "bi-signpost-split"
    help = "The request takes the first path whose condition holds, or the default path. Click a path to set its condition."
    partial = "decision"
    merge = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        outgoing = self.ctx.diagram.outgoing(self.ctx.element_id)
        if len(outgoing) == 1 and len(self.ctx.diagram.incoming(self.ctx.element_id)) > 1:
            # One way out and several in: the compiler runs it as a merge.
            self.label, self.icon = "Merge", "bi-sign-merge-left"
            self.merge = True
            self.help = (
                "Paths that were split by a Decision join here; the request goes on as soon as one arrives."
            )

    def paths(self) -> list[dict[str, Any]]:
        diagram, gateway_id = self.ctx.diagram, self.ctx.element_id
        default = self.ctx.element.get("default")
        paths = []
        for flow in diagram.outgoing(gateway_id):
            target = diagram.find(flow.get("targetRef", "").strip())
            paths.append(
                {
                    "id": flow.get("id", ""),
                    "name": _name(flow) or (_name(target) and f"to {_name(target)}") or flow.get("id", ""),
                    "condition": condition(flow) or "",
                    "default": flow.get("id") == default,
                }
            )
        return paths


class ParallelForm(BlockForm):
    kind = "parallel"
    label = "Parallel split / join"
    icon = "bi-distribute-horizontal"
    help = "A split starts every outgoing path at once; a join waits until every incoming path has arrived."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        diagram, element_id = self.ctx.diagram, self.ctx.element_id
        if len(diagram.incoming(element_id)) > 1 and len(diagram.outgoing(element_id)) <= 1:
            self.label, self.help = (
                "Parallel join",
                "Waits until every incoming path has arrived, then goes on.",
            )
        elif len(diagram.outgoing(element_id)) > 1 and len(diagram.incoming(element_id)) <= 1:
            self.label, self.help = "Parallel split", "Starts every outgoing path at once."


class SetDataForm(BlockForm):
    kind = "set_data"
    label = "Set data"
    icon = "bi-pencil-square"
    help = "Sets variables from values or expressions; later blocks read them."
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


WAIT_KINDS = [("duration", "For a while"), ("date", "Until a date"), ("message", "For a message")]


class WaitForm(BlockForm):
    kind = "wait"
    label = "Wait"
    icon = "bi-hourglass-split"
    help = "The request pauses here for a time, until a date, or until a message arrives."
    partial = "wait"
    live = {"wait_date": {"expect": "moment"}, "correlation_key": {"expect": "key"}}

    wait_kind = forms.ChoiceField(
        label="Wait", choices=WAIT_KINDS, widget=forms.RadioSelect, initial="duration"
    )
    wait_count, wait_unit = _duration_fields("Wait for", "")
    wait_date = forms.CharField(
        label="Until",
        required=False,
        max_length=expressions.MAX_LENGTH,
        help_text="A date and time such as 2026-12-24T09:00:00+00:00, or a date variable.",
    )
    message_name = forms.CharField(label="Message name", required=False, max_length=200)
    correlation_key = forms.CharField(
        label="Match on",
        required=False,
        max_length=expressions.MAX_LENGTH,
        help_text="Which request a message is for: the value the message carries as its key, e.g. order_id.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["message_name"].widget.attrs["list"] = "known-messages"

    def date_variables(self) -> list[tuple[str, list[Variable]]]:
        return self.variables("date", "string")

    def key_variables(self) -> list[tuple[str, list[Variable]]]:
        return self.variables("string", "integer", "number", "date")

    def known_messages(self) -> list[str]:
        return self.ctx.diagram.message_names()

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        found = timer(ctx.element)
        name = message(ctx.element, ctx.diagram)
        if name is not None:
            return {
                "wait_kind": "message",
                "message_name": name,
                "correlation_key": _attr(ctx, "correlationKey"),
            }
        if found is not None and found["kind"] == "timeDate":
            return {"wait_kind": "date", "wait_date": found["value"]}
        count, unit = iso_to_duration(found["value"] if found else "")
        return {"wait_kind": "duration", "wait_count": count, "wait_unit": unit}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("wait_kind")
        if kind == "duration" and not data.get("wait_count"):
            self.add_error("wait_count", "Say how long to wait.")
        elif kind == "date":
            when = data.get("wait_date", "").strip()
            if not when:
                self.add_error("wait_date", "Say until when.")
            elif not is_timestamp(when):
                self.check("wait_date", when, "moment")
        elif kind == "message":
            if not data.get("message_name", "").strip():
                self.add_error("message_name", "Name the message to wait for.")
            key = data.get("correlation_key", "").strip()
            if not key:
                self.add_error(
                    "correlation_key", "Say which value a message must carry to reach this request."
                )
            else:
                self.check("correlation_key", key, "key")
        return data

    def payload(self) -> Payload:
        payload = super().payload()
        data = self.cleaned_data
        if data["wait_kind"] == "message":
            payload["message"] = {"name": " ".join(data["message_name"].split())}
            payload["attrs"] = {"baton:correlationKey": data["correlation_key"].strip()}
            return payload
        payload["attrs"] = {"baton:correlationKey": None}
        if data["wait_kind"] == "date":
            payload["timer"] = {"kind": "timeDate", "value": data["wait_date"].strip()}
        else:
            payload["timer"] = {
                "kind": "timeDuration",
                "value": duration_to_iso(data["wait_count"], data["wait_unit"]),
            }
        return payload


START_KINDS = [
    ("form", "People fill in a form"),
    ("schedule", "On a schedule"),
    ("webhook", "Another system calls a web address"),
    ("event", "When a message arrives"),
]


class StartForm(BlockForm):
    kind = "start"
    label = "Start"
    icon = "bi-play-circle"
    help = "How a request begins, and the data it starts with. Each form field becomes a variable."
    partial = "start"
    row_sets = {
        "fields": (FormFieldRows, "formField", {}),
        "payload": (VariableRows, "input", {"payload": "map"}),
    }

    start_kind = forms.ChoiceField(
        label="Starts", choices=START_KINDS, widget=forms.RadioSelect, initial="form"
    )
    cron = forms.CharField(
        label="Schedule (cron)",
        required=False,
        max_length=200,
        help_text="Minute hour day month weekday: <code>0 9 * * 1-5</code> is 9:00 on weekdays.",
    )
    message_name = forms.CharField(label="Message name", required=False, max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["message_name"].widget.attrs["list"] = "known-messages"

    def known_messages(self) -> list[str]:
        return self.ctx.diagram.message_names()

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        found = timer(ctx.element)
        name = message(ctx.element, ctx.diagram)
        if found is not None:
            return {"start_kind": "schedule", "cron": found["value"]}
        if name is not None:
            return {"start_kind": "event", "message_name": name}
        return {"start_kind": "webhook" if _items(ctx, "input") else "form"}

    def row_scope(self, prefix: str) -> Scope:
        # The webhook mapping reads only the request's payload (and the built-ins).
        return Scope(tuple(v for v in self.ctx.scope.variables if v.origin == "Built in"))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("start_kind")
        cron = " ".join(data.get("cron", "").split())
        if kind == "schedule" and not values.is_cron(cron):
            self.add_error("cron", "Write five fields: minute hour day month weekday, e.g. 0 9 * * 1-5.")
        if kind == "event" and not data.get("message_name", "").strip():
            self.add_error("message_name", "Name the message that starts the workflow.")
        data["cron"] = cron
        return data

    def payload(self) -> Payload:
        payload = super().payload()
        data = self.cleaned_data
        kind = data["start_kind"]
        payload["startKind"] = kind
        payload["extensions"] = {
            "formField": self.rows["fields"].items(),
            "input": self.rows["payload"].items() if kind == "webhook" else [],
        }
        if kind == "schedule":
            payload["timer"] = {"kind": "timeCycle", "value": data["cron"]}
        elif kind == "event":
            payload["message"] = {"name": " ".join(data["message_name"].split())}
        return payload


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

    def outcomes(self) -> tuple[str, ...]:
        return OUTCOMES

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        return {"outcome": _attr(ctx, "outcome")}

    def payload(self) -> Payload:
        payload = super().payload()
        payload["attrs"] = {"baton:outcome": _or_none(" ".join(self.cleaned_data["outcome"].split()))}
        return payload


class CallForm(BlockForm):
    kind = "call"
    label = "Call sub-process"
    icon = "bi-box-arrow-in-down-right"
    help = "Starts another workflow and waits for it to end. Inputs become its variables; outputs come back."
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
        _choice_field(self.fields["called"]).choices = _with_current(
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


class PathForm(BlockForm):
    """A path between blocks; leaving a Decision it carries a condition or is the default path."""

    kind = "path"
    label = "Path"
    icon = "bi-arrow-right"
    help = "A path from one block to the next. Its name is shown on the diagram."
    partial = "path"
    live = {"condition": {}}

    is_default = forms.BooleanField(
        label="Default path", required=False, help_text="Taken when no other path's condition holds."
    )
    condition_mode = forms.ChoiceField(
        choices=[("builder", "Builder"), ("cel", "CEL")],
        initial="builder",
        required=False,
        widget=forms.HiddenInput,
    )
    field = forms.ChoiceField(label="When", required=False)
    operator = forms.ChoiceField(label="is", required=False, choices=[(op.key, op.label) for op in OPERATORS])
    value = forms.CharField(label="Value", required=False, max_length=1000)
    condition = forms.CharField(
        label="Condition (CEL)",
        required=False,
        max_length=expressions.MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self.fields["field"]).choices = [
            ("", "Choose a value…"),
            *((v.name, v.shown) for v in self.builder_variables()),
        ]

    def builder_variables(self) -> list[Variable]:
        return [v for v in self.ctx.scope.variables if v.type in BUILDER_TYPES]

    def builder_groups(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """The builder's values, grouped, with what the browser needs to offer fitting operators."""
        return [
            (origin, [{**vars(v), "kind": operand_kind(v), "shown": v.shown} for v in group])
            for origin, group in self.ctx.scope.groups(self.builder_variables())
        ]

    @property
    def decision(self) -> bool:
        """Whether the path leaves a Decision (a gateway choosing between several paths)."""
        source = self.ctx.diagram.source(self.ctx.element)
        return (
            source is not None
            and local(source) == "exclusiveGateway"
            and len(self.ctx.diagram.outgoing(source.get("id", ""))) > 1
        )

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        source = ctx.diagram.source(ctx.element)
        is_default = source is not None and source.get("default") == ctx.element_id
        text = condition(ctx.element) or ""
        initial: dict[str, Any] = {"is_default": is_default, "condition": text}
        parsed = parse_condition(text, ctx.scope) if text else None
        if parsed is not None:
            initial.update(field=parsed[0], operator=parsed[1], value=parsed[2], condition_mode="builder")
        else:
            initial["condition_mode"] = "cel" if text else "builder"
        return initial

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        self.cel = ""
        if not self.decision or data.get("is_default"):
            return data
        if data.get("condition_mode") == "cel":
            source = data.get("condition", "").strip()
            if not source:
                self.add_error("condition", "Write the condition, or make this the default path.")
                return data
            self.cel = self.check("condition", source, "bool")
            return data
        variable = self.ctx.scope.get(data.get("field", ""))
        if variable is None:
            self.add_error("field", "Choose what the condition looks at, or make this the default path.")
            return data
        try:
            self.cel = build_condition(variable, data.get("operator", ""), data.get("value", ""))
        except ValidationError as exc:
            self.add_error("value", exc)
            return data
        self.check("value", self.cel, "bool")
        return data

    def payload(self) -> Payload:
        payload = super().payload()
        if self.decision:
            payload["isDefault"] = bool(self.cleaned_data["is_default"])
            payload["condition"] = self.cel
        return payload

    def operators(self) -> list[Operator]:
        return list(OPERATORS)


class UnsupportedForm(BlockForm):
    kind = "unsupported"
    label = "Not supported"
    icon = "bi-exclamation-triangle"
    help = "Baton does not run this kind of element. Replace it with one of the blocks in the palette."
    partial = "unsupported"


class NoteForm(BlockForm):
    kind = "note"
    label = "Note"
    icon = "bi-sticky"
    help = "Notes and groups explain the diagram to people; Baton ignores them when it runs."
    partial = "unsupported"


class LaneForm(NoteForm):
    label = "Pool / lane"
    icon = "bi-layout-three-columns"
    help = (
        "Pools and lanes organise the diagram. An Approval in a lane with no group of its own "
        "goes to the group named like the lane."
    )


# Business block kinds by BPMN element: the one place the panel maps one to the other.
FORMS: dict[str, type[BlockForm]] = {
    "process": ProcessForm,
    "startEvent": StartForm,
    "userTask": ApprovalForm,
    "serviceTask": AutomatedStepForm,
    "sendTask": NotifyForm,
    "exclusiveGateway": DecisionForm,
    "parallelGateway": ParallelForm,
    "scriptTask": SetDataForm,
    "intermediateCatchEvent": WaitForm,
    "callActivity": CallForm,
    "endEvent": EndForm,
    "sequenceFlow": PathForm,
    "textAnnotation": NoteForm,
    "group": NoteForm,
    "association": NoteForm,
    "dataObjectReference": NoteForm,
    "dataStoreReference": NoteForm,
    "participant": LaneForm,
    "lane": LaneForm,
}


def form_class(element: etree._Element) -> type[BlockForm]:
    """The panel form for an element; elements Baton does not run get an explanation."""
    kind = local(element)
    if kind in ("startEvent", "endEvent", "intermediateCatchEvent"):
        definition = event_definition(element)
        allowed = {
            "startEvent": ("timer", "message"),
            "intermediateCatchEvent": ("timer", "message"),
            "endEvent": (),
        }
        if definition is not None and local(definition).removesuffix("EventDefinition") not in allowed[kind]:
            return UnsupportedForm
    if kind == "sendTask" and (baton_attr(element, "connector") or "email").strip() != "email":
        return AutomatedStepForm  # a send task running another connector: its settings are a connector's
    return FORMS.get(kind, UnsupportedForm)


def scope_json(scope: Scope) -> str:
    """The variables in scope as JSON for the checks made while someone types."""
    return json.dumps([[v.name, v.type, list(v.choices)] for v in scope.variables])
