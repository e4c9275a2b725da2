"""What every panel form shares: the context it reads, the form base class, and small helpers."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.forms.boundfield import BoundField
from django.forms.widgets import Widget
from django.urls import reverse
from lxml import etree

from designer.cel_builder import check_cel
from designer.diagram import Diagram, Payload, baton_attr, event_definition, extension_items, local
from designer.scope import Scope, Variable
from orchestration import expressions
from orchestration.bpmn.graph import VariableType
from orchestration.durations import UNITS
from orchestration.engine import blocks
from orchestration.form_rendering import CompactRenderer
from orchestration.models import Workflow

if TYPE_CHECKING:
    from designer.panels.rows import Rows
    from orchestration.engine.blocks.base import Kind


# --- durations as a number and a unit


def duration_fields(label: str, help_text: str) -> tuple[forms.IntegerField, forms.ChoiceField]:
    """A duration as a number and a unit (``orchestration.durations.UNITS``)."""
    count = forms.IntegerField(
        label=label, required=False, min_value=1, max_value=100000, help_text=help_text
    )
    unit = forms.ChoiceField(label=f"{label} unit", choices=[(u, w) for u, w, _ in UNITS], initial="days")
    return count, unit


# --- how the panel's controls look, and checks while typing


class _LabelledField(BoundField):
    """A control named by its label (``aria-label``).

    The panel draws rows, duration units and the CEL box without a visible label of their
    own. Check boxes and radio buttons keep their own labels.
    """

    def build_widget_attrs(self, attrs: dict[str, Any], widget: Widget | None = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        if not (widget.is_hidden or getattr(widget, "input_type", None) in ("checkbox", "radio")):
            if "aria-label" not in widget.attrs:
                attrs.setdefault("aria-label", str(self.label))
        return attrs


class PanelRenderer(CompactRenderer):
    """Small Bootstrap controls for the narrow panel, each named by its label."""

    bound_field_class = _LabelledField


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


class Section(forms.Form):
    """A part of the panel that several kinds share (For each, events on a step), under the kind's own fields.

    A section is offered where ``applies(kind)`` says so, from the kind's flags in the block
    registry, never from a list of kinds; it reads its values from the element and adds its
    keys to the block's payload. Sections are registered once, in :data:`SECTIONS`.
    """

    default_renderer = PanelRenderer
    prefix = ""  # each section's own: its fields are posted as "<prefix>-<name>"
    partial: ClassVar[str]
    live: ClassVar[dict[str, dict[str, str]]] = {}

    def __init__(self, data: Any, *, ctx: PanelContext, check_url: str) -> None:
        super().__init__(data, initial=None if data is not None else self.initial_from_xml(ctx))
        self.ctx = ctx
        self.check_url = check_url
        for name, vals in self.live.items():
            live_check(self, name, check_url, **vals)

    @classmethod
    def applies(cls, kind: Kind[Any]) -> bool:
        """Whether blocks of ``kind`` show this section."""
        return False

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        return {}

    def check(
        self, field: str, source: str, expect: Any = None, types: Mapping[str, VariableType] | None = None
    ) -> str:
        """Type-check an expression field against the scope; record the error on ``field``."""
        try:
            check_cel(source, self.ctx.scope.types() if types is None else types, expect)
        except ValidationError as exc:
            self.add_error(field, exc)
        return source

    def contribute(self, payload: Payload) -> None:
        """Add this section's changes to the block's payload; call after ``is_valid``."""

    def variables(self, *types: VariableType) -> list[tuple[str, list[Variable]]]:
        scope = self.ctx.scope
        return scope.groups(scope.of_type(*types))


# The sections, in the order the panel shows them (registered in designer.panels).
SECTIONS: list[type[Section]] = []


def kind_of(element: etree._Element) -> Kind[Any] | None:
    """The block kind the compiler reads ``element`` as (None for paths, notes, the process…)."""
    return blocks.reading(element)


class BlockForm(forms.Form):
    """A block's settings. Subclasses set the class attributes and write ``initial``/``payload``."""

    default_renderer = PanelRenderer
    kind: ClassVar[str]
    # What the panel's header says; a form may refine them for the element (a Decision that merges).
    label: str
    icon: str
    help: str
    partial: ClassVar[str] = "plain"
    # Whether the block chooses among its outgoing paths by their conditions (its paths get a condition).
    chooses_paths: ClassVar[bool] = False
    row_sets: ClassVar[dict[str, tuple[type[Rows], str, Mapping[str, VariableType]]]] = {}

    element = forms.CharField(widget=forms.HiddenInput)
    name = forms.CharField(label="Name", required=False, max_length=300, help_text="Shown on the diagram.")

    # Expression fields checked while typed: field name -> extra hx-vals ("expect", "with").
    live: ClassVar[dict[str, dict[str, str]]] = {}

    def __init__(self, *args: Any, ctx: PanelContext, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx = ctx
        self.check_url = reverse("designer:panel-check", args=[ctx.workflow.key])
        self.rows: dict[str, Rows] = {}
        for prefix, (rows_class, kind, extra) in self.row_sets.items():
            initial = None if self.is_bound else self.initial_rows(prefix, kind)
            self.rows[prefix] = rows_class(
                self.data if self.is_bound else None,
                prefix=prefix,
                initial=initial,
                form_kwargs={"scope": self.row_scope(prefix), "extra": extra, "check_url": self.check_url},
            )
        for name, vals in self.live.items():
            live_check(self, name, self.check_url, **vals)
        block_kind = kind_of(ctx.element) if ctx.element is not ctx.diagram.process else None
        self.sections: list[Section] = [
            section(self.data if self.is_bound else None, ctx=ctx, check_url=self.check_url)
            for section in SECTIONS
            if block_kind is not None and section.applies(block_kind)
        ]

    # reading the element

    @classmethod
    def panel_for(cls, element: etree._Element) -> type[BlockForm]:
        """The form for ``element``: this one, unless the element is a variant this kind does not edit."""
        return cls

    @classmethod
    def for_element(cls, ctx: PanelContext) -> BlockForm:
        """The unbound form, filled from the element."""
        return cls(
            ctx=ctx,
            initial={
                "element": ctx.element_id,
                "name": display_name(ctx.element),
                **cls.initial_from_xml(ctx),
            },
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
        # A list, not a generator: every row set is validated, so each shows its errors.
        return all(
            [
                super().is_valid(),
                *(rows.is_valid() for rows in self.rows.values()),
                *(section.is_valid() for section in self.sections),
            ]
        )

    def subforms(self) -> list[forms.Form]:
        """Other forms the panel shows (a connector's settings, the shared sections)."""
        return list(self.sections)

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
        for section in self.sections:
            section.contribute(payload)
        return payload

    def _extensions(self) -> dict[str, list[dict[str, Any]]]:
        return {kind: self.rows[prefix].items() for prefix, (_, kind, _) in self.row_sets.items()}

    def variables(self, *types: VariableType) -> list[tuple[str, list[Variable]]]:
        """Grouped variables for a picker (all of them, or those of ``types``)."""
        scope = self.ctx.scope
        return scope.groups(scope.of_type(*types) if types else None)


def display_name(el: etree._Element) -> str:
    """An element's name on one line."""
    return " ".join(el.get("name", "").split())


def definition_kind(element: etree._Element) -> str | None:
    """An event's definition without the suffix (``timer``, ``message``, ``error``…), None if plain."""
    definition = event_definition(element)
    return None if definition is None else local(definition).removesuffix("EventDefinition")


def name_from_words(text: str) -> str:
    """``text`` as a name later blocks can use when it is words ("Invoice text" -> ``invoice_text``); else as typed.

    People name a field as they would label it; only words joined by spaces or hyphens are
    turned into a name, so a name already valid (``invoiceText``) stays exactly as it is.
    """
    words = re.split(r"[\s-]+", text.strip())
    if len(words) < 2:
        return text.strip()
    joined = "_".join(words).lower()
    return joined if expressions.is_identifier(joined) else text.strip()


def variable_name(name: str) -> str:
    """``name`` when later blocks can read it as a variable; otherwise a ValidationError saying why."""
    if not expressions.is_identifier(name):
        raise ValidationError("Use letters, digits and _, not starting with a digit.")
    if name in expressions.BUILTIN_VARIABLES or name in ("result", "payload"):
        raise ValidationError(f"{name} is a name Baton keeps for itself.")
    return name


def setting(ctx: PanelContext, name: str) -> str:
    """The element's ``baton:`` attribute ``name``, trimmed ("" when absent)."""
    return (baton_attr(ctx.element, name) or "").strip()


def or_none(value: str | None) -> str | None:
    """``value`` trimmed, or None when empty: an attribute the canvas then removes."""
    value = (value or "").strip()
    return value or None


def choice_field(field: forms.Field) -> forms.ChoiceField:
    """``field`` typed as the choice field it is, to set its choices."""
    assert isinstance(field, forms.ChoiceField)
    return field


def with_current(choices: list[tuple[str, str]], current: Any) -> list[tuple[str, str]]:
    """Keep a value the diagram names even when it is not (or no longer) offered."""
    if isinstance(current, list):
        current = current[0] if current else ""
    if current and all(value != current for value, _ in choices):
        return [*choices, (current, f"{current} (not found)")]
    return choices


def scope_json(scope: Scope) -> str:
    """The variables in scope as JSON for the checks made while someone types."""
    return json.dumps([[v.name, v.type, list(v.choices)] for v in scope.variables])
