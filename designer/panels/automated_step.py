"""Automated step (BPMN serviceTask): the connector it runs, its settings, inputs and results."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from lxml import etree

from designer.cel_builder import NotRepresentable, cel_double, cel_string, check_cel, string_value
from designer.diagram import Payload, extension_items
from designer.panels.ask_ai import AskAIForm, is_ask_ai
from designer.panels.base import BlockForm, PanelContext, PanelRenderer, choice_field, setting, with_current
from designer.panels.rows import InputRows, OutputRows
from designer.scope import TYPE_WORDS, Scope
from orchestration import values
from orchestration.bpmn.graph import VariableType
from orchestration.connectors import presets, registry
from orchestration.connectors.base import Connector, ConnectorField
from orchestration.connectors.presets import Action
from orchestration.models import Connection


def _connector_prefix(name: str) -> str:
    return "config-" + re.sub(r"[^A-Za-z0-9]+", "-", name)


class ConnectorSettings:
    """The selected connector's ``config_form``, stored as ``baton:property`` name/value pairs."""

    def __init__(self, form: BlockForm, connectors: Iterable[type[Connector]], current: str) -> None:
        self.form = form
        stored = {
            p.get("name", ""): p.get("value", "") for p in extension_items(form.ctx.element, "property")
        }
        self.current = current
        self.configs: list[tuple[type[Connector], forms.Form]] = []
        chosen = form.data.get("connector", current) if form.is_bound else current
        for connector in connectors:
            prefix = _connector_prefix(connector.name)
            if form.is_bound and connector.name == chosen:
                config = connector.config_form(form.data, prefix=prefix, renderer=PanelRenderer())
            elif form.is_bound:
                # The other connectors' (hidden) settings keep what was typed, unvalidated: their
                # "required" errors are not this block's problem.
                typed = {
                    name: form.data.get(f"{prefix}-{name}") for name in connector.config_form.base_fields
                }
                config = connector.config_form(
                    initial={k: v for k, v in typed.items() if v}, prefix=prefix, renderer=PanelRenderer()
                )
            else:
                initial = stored if connector.name == self.current else {}
                config = connector.config_form(initial=initial, prefix=prefix, renderer=PanelRenderer())
            _defaults_as_placeholders(config, stored if connector.name == current else {})
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
                for p in extension_items(self.form.ctx.element, "property")
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


# What a picked value of each type may fill: an input takes its own type, and "any" takes all.
_FITS: dict[VariableType, tuple[VariableType, ...]] = {
    "number": ("number", "integer", "dyn"),
    "integer": ("integer", "dyn"),
    "string": ("string", "date", "dyn"),
    "date": ("date", "string", "dyn"),
    "boolean": ("boolean", "dyn"),
    "map": ("map", "dyn"),
    "list": ("list", "dyn"),
}
# Choices of an input's picker that are not a value in scope (never a variable name: not identifiers).
TYPED = "=value"
WRITTEN = "=expression"
_EXPECT: dict[VariableType, Any] = {
    "number": "number",
    "integer": "number",
    "string": "text",
    "date": "moment",
    "list": "list",
}


def _slug(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-")


def _type_words(kind: VariableType) -> str:
    return "any value" if kind == "dyn" else TYPE_WORDS.get(kind, kind)


def _literal(source: str) -> str | None:
    """The text a person typed for ``source`` when it is a plain literal, else None."""
    if source in ("true", "false"):
        return "yes" if source == "true" else "no"
    try:
        return string_value(source)
    except NotRepresentable:
        pass
    return source if values.parse_number(source) is not None and source[:1] not in "+ " else None


def _matching(declared: ConnectorField, scope: Scope) -> str:
    """The value in scope a new step picks for ``declared``: one of its own name and a fitting type, else
    the input's suggested one (the person who started it for a requester); "" when none fits."""
    fits = _FITS.get(declared.type)
    for name in (declared.name, declared.suggested):
        variable = scope.get(name) if name else None
        if variable is not None and (fits is None or variable.type in fits):
            return variable.name
    return ""


@dataclass
class InputField:
    """One declared input of an action, as the panel shows it: a picker, a typed value, an expression."""

    field: ConnectorField
    pick: forms.BoundField
    value: forms.BoundField
    written: forms.BoundField

    @property
    def type_words(self) -> str:
        return _type_words(self.field.type)


@dataclass
class ActionPanel:
    """The part of the panel one action (a preset or a connector) shows when it is chosen."""

    action: Action
    slug: str
    inputs: list[InputField]
    outputs: list[tuple[ConnectorField, forms.BoundField, str]]
    connection: forms.BoundField | None
    config: forms.Form | None

    def basic(self) -> list[forms.BoundField]:
        keep = getattr(type(self.config), "basic_fields", ()) if self.config is not None else ()
        return [f for f in self.config if f.name in keep] if self.config is not None else []

    def advanced(self) -> list[forms.BoundField]:
        keep = getattr(type(self.config), "basic_fields", ()) if self.config is not None else ()
        return [f for f in self.config if f.name not in keep] if self.config is not None else []


def _connection_choices(blank: str) -> list[tuple[str, str]]:
    """The systems administrators set up, by name: never their address or keys."""
    return [("", blank), *((c.name, c.label or c.name) for c in Connection.objects.order_by("label", "name"))]


class AutomatedStepForm(BlockForm):
    kind = "automated"
    label = "Automated step"
    icon = "bi-gear"
    help = "Baton does this for you: places an order, posts a message, calls another system."
    partial = "automated"
    row_sets = {
        "inputs": (InputRows, "input", {}),
        "outputs": (OutputRows, "output", {"result": "map"}),
    }

    connector = forms.ChoiceField(label="What should this step do?")
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
        current = setting(self.ctx, "connector")
        self.actions = presets.actions()
        grouped: dict[str, list[tuple[str, str]]] = {}
        for found in self.actions:
            grouped.setdefault(found.category, []).append((found.key, found.label))
        choices: list[Any] = [("", "Choose…")]
        choices += [(category, items) for category, items in grouped.items() if category != "Other"]
        choices += [("Something else", grouped.get("Other", []))]
        field = choice_field(self.fields["connector"])
        field.choices = choices
        key = self.current_key()
        if key and presets.action_by_key(key) is None:
            field.choices = [*choices, *with_current([], key)]
        self.settings = ConnectorSettings(self, connectors, current)
        self.action_panels = [self._action_panel(found) for found in self.actions]

    def current_key(self) -> str:
        """The action the diagram names: ``preset:<name>`` or the connector's name."""
        connector, preset = setting(self.ctx, "connector"), setting(self.ctx, "preset")
        return presets.PRESET_PREFIX + preset if preset else connector

    def chosen(self) -> Action | None:
        key = self.data.get("connector", "") if self.is_bound else self.current_key()
        return presets.action_by_key(key or "")

    # one panel part per action

    def _action_panel(self, found: Action) -> ActionPanel:
        slug = _slug(found.key)
        is_current = found.key == self.current_key()
        stored = {
            i.get("name", ""): i.get("expression", "").strip()
            for i in extension_items(self.ctx.element, "input")
        }
        kept = {
            o.get("name", ""): o.get("expression", "").strip()
            for o in extension_items(self.ctx.element, "output")
        }
        inputs = [
            self._input(slug, f, stored.get(f.name, "") if is_current else _matching(f, self.ctx.scope))
            for f in found.inputs
        ]
        outputs = []
        for out in found.outputs:
            name = f"out-{slug}-{out.name}"
            self.fields[name] = forms.BooleanField(label=out.label, required=False, help_text=out.help)
            self.initial.setdefault(name, out.name in kept if is_current else True)
            outputs.append((out, self[name], _type_words(out.type)))
        connection = None
        if found.asks_connection:
            name = f"system-{slug}"
            self.fields[name] = forms.ChoiceField(
                label="System",
                required=False,
                choices=_connection_choices("Choose…"),
                help_text="Set up by an administrator. Ask them to add the one you need.",
            )
            stored_props = {
                p.get("name", ""): p.get("value", "") for p in extension_items(self.ctx.element, "property")
            }
            self.initial.setdefault(name, stored_props.get("connection", "") if is_current else "")
            connection = self[name]
        config = None if found.preset else self.settings.config_for(found.connector)
        if config is not None and "connection" in config.fields:
            config.fields["connection"].widget = forms.Select(
                choices=_connection_choices("None: use a full address"),
                attrs={"aria-label": "System"},
            )
        return ActionPanel(found, slug, inputs, outputs, connection, config)

    def _input(self, slug: str, declared: ConnectorField, source: str) -> InputField:
        base = f"in-{slug}-{declared.name}"
        fits = _FITS.get(declared.type)
        offered = [v for v in self.ctx.scope.variables if fits is None or v.type in fits]
        groups = self.ctx.scope.groups(offered)
        choices: list[Any] = [("", "Choose…" if declared.required else "Nothing")]
        choices += [(origin, [(v.name, v.shown) for v in vs]) for origin, vs in groups]
        choices += [(TYPED, "Type a value…"), (WRITTEN, "Something else (advanced)")]
        self.fields[base] = forms.ChoiceField(
            label=declared.label, required=False, choices=choices, help_text=declared.help
        )
        if declared.required:
            self.fields[base].widget.attrs["aria-label"] = f"{declared.label} (required)"
        self.fields[f"{base}-value"] = forms.CharField(
            label=f"{declared.label}: the value", required=False, max_length=2000
        )
        self.fields[f"{base}-expression"] = forms.CharField(
            label=f"{declared.label}: the formula", required=False, max_length=2000
        )
        self.fields[f"{base}-expression"].widget.attrs["spellcheck"] = "false"
        pick, typed, written = "", "", ""
        if source:
            literal = _literal(source)
            if self.ctx.scope.get(source) is not None:
                pick = source
            elif literal is not None:
                pick, typed = TYPED, literal
            else:
                pick, written = WRITTEN, source
        self.initial.setdefault(base, pick)
        self.initial.setdefault(f"{base}-value", typed)
        self.initial.setdefault(f"{base}-expression", written)
        return InputField(declared, self[base], self[f"{base}-value"], self[f"{base}-expression"])

    @classmethod
    def panel_for(cls, element: etree._Element) -> type[BlockForm]:
        """An Ask AI step (the AI connector) has its own panel."""
        return AskAIForm if is_ask_ai(element) else cls

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        retries, backoff = setting(ctx, "retries"), setting(ctx, "retryBackoff")
        preset = setting(ctx, "preset")
        return {
            "connector": presets.PRESET_PREFIX + preset if preset else setting(ctx, "connector"),
            "retries": retries or None,
            "retry_backoff": backoff or None,
        }

    def initial_rows(self, prefix: str, kind: str) -> list[dict[str, Any]]:
        """The rows the chosen action does not declare itself (values to send, results to keep)."""
        found = presets.action_by_key(self.current_key())
        rows = super().initial_rows(prefix, kind)
        if found is None:
            return rows
        if kind == "input":
            return [r for r in rows if found.input(r["name"]) is None]
        return [
            r
            for r in rows
            if found.output(r["name"]) is None or r["expression"] != found.result_of(r["name"])
        ]

    # checking and writing

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        found = self.chosen()
        self.mapped: dict[str, str] = {}
        if found is None:
            return data
        if not data.get("name", "").strip():
            # Named after what it does, so two such steps can be told apart (and renamed).
            data["name"] = found.label
            # The form then shows that name too (posted data is immutable: a changed copy).
            self.data = {**dict(self.data.items()), self.add_prefix("name"): found.label}
        panel = next(p for p in self.action_panels if p.action.key == found.key)
        for item in panel.inputs:
            source = self._source(item, data)
            if source:
                self.mapped[item.field.name] = source
            elif item.field.required and not self.has_error(item.pick.name):
                self.add_error(item.pick.name, f"{item.field.label} is needed: choose where it comes from.")
        if panel.connection is not None:
            system = data.get(panel.connection.name, "")
            problems = registry.get(found.connector).validate_config({**found.config, "connection": system})
            if not system:
                self.add_error(panel.connection.name, "Choose the system.")
            elif problems:
                self.add_error(panel.connection.name, " ".join(m for ms in problems.values() for m in ms))
        elif panel.config is not None and not panel.config.is_valid():
            self.add_error(None, "Check the settings below.")
        return data

    def _source(self, item: InputField, data: Mapping[str, Any]) -> str:
        """The expression the designer writes for one input (checked), or "" when none is chosen."""
        pick = data.get(item.pick.name, "")
        kind = item.field.type
        if pick == TYPED:
            typed = (data.get(item.value.name) or "").strip()
            if not typed:
                self.add_error(item.value.name, "Type the value.")
                return ""
            if kind in ("number", "integer"):
                number = values.parse_number(typed)
                if number is None or (kind == "integer" and number != int(number)):
                    self.add_error(item.value.name, f"{item.field.label} is a {item.type_words}, e.g. 1200.")
                    return ""
                return str(int(number)) if kind == "integer" else cel_double(number)
            if kind == "boolean":
                flag = values.parse_flag(typed)
                if flag is None:
                    self.add_error(item.value.name, "Answer yes or no.")
                    return ""
                return "true" if flag else "false"
            return cel_string(typed)
        source = (data.get(item.written.name) or "").strip() if pick == WRITTEN else pick
        if pick == WRITTEN and not source:
            self.add_error(item.written.name, "Write the expression.")
            return ""
        if not source:
            return ""
        try:
            check_cel(source, self.ctx.scope.types(), _EXPECT.get(kind))
        except ValidationError as exc:
            self.add_error(item.written.name if pick == WRITTEN else item.pick.name, exc)
            return ""
        return source

    def payload(self) -> Payload:
        payload = super().payload()
        data = self.cleaned_data
        found = self.chosen()
        backoff = data["retry_backoff"]
        connector = found.connector if found is not None else data["connector"]
        payload["attrs"] = {
            "baton:connector": connector,
            "baton:preset": (found.preset or None) if found is not None else None,
            "baton:retries": data["retries"],
            "baton:retryBackoff": None if backoff is None else float(backoff),
        }
        rows = self._extensions()
        if found is None:
            payload["extensions"] = {"property": self.settings.properties(connector), **rows}
            return payload
        panel = next(p for p in self.action_panels if p.action.key == found.key)
        if found.preset:
            chosen = data.get(panel.connection.name, "") if panel.connection is not None else ""
            properties = [
                {"name": k, "value": v} for k, v in {**found.config, "connection": chosen}.items() if v
            ]
        else:
            properties = self.settings.properties(connector)
        declared = {f.name for f in found.outputs}
        outputs = [
            {
                "name": out.name,
                "expression": found.result_of(out.name),
                **({"type": out.type} if out.type != "dyn" else {}),
            }
            for out, keep, _ in panel.outputs
            if data.get(keep.name)
        ]
        payload["extensions"] = {
            "property": properties,
            "input": [{"name": n, "expression": e} for n, e in self.mapped.items()]
            + [r for r in rows["input"] if r["name"] not in self.mapped],
            "output": outputs + [r for r in rows["output"] if r["name"] not in declared],
        }
        return payload

    def subforms(self) -> list[forms.Form]:
        found = self.chosen() if self.is_bound else None
        config = self.settings.config_for(found.connector) if found is not None and not found.preset else None
        return [*super().subforms(), *([config] if config is not None else [])]

    @property
    def connector_keys(self) -> str:
        """The actions that take other values to send (the connectors themselves), for a show rule."""
        return "|".join(p.action.key for p in self.action_panels if not p.action.preset)

    def chosen_panel(self) -> ActionPanel | None:
        found = self.chosen()
        return next((p for p in self.action_panels if found is not None and p.action.key == found.key), None)
