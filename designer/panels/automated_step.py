"""Automated step (BPMN serviceTask): the connector it runs, its settings, inputs and results."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

from django import forms
from lxml import etree

from designer.diagram import Payload, extension_items
from designer.panels.ask_ai import AskAIForm, is_ask_ai
from designer.panels.base import BlockForm, PanelContext, PanelRenderer, choice_field, setting, with_current
from designer.panels.rows import InputRows, OutputRows
from orchestration.connectors import registry
from orchestration.connectors.base import Connector


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
        current = setting(self.ctx, "connector")
        choice_field(self.fields["connector"]).choices = with_current(
            [("", "Choose…"), *((c.name, c.label) for c in connectors)], current
        )
        self.settings = ConnectorSettings(self, connectors, current)

    @classmethod
    def panel_for(cls, element: etree._Element) -> type[BlockForm]:
        """An Ask AI step (the AI connector) has its own panel."""
        return AskAIForm if is_ask_ai(element) else cls

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        retries, backoff = setting(ctx, "retries"), setting(ctx, "retryBackoff")
        return {
            "connector": setting(ctx, "connector"),
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
        return [*super().subforms(), *([config] if config is not None else [])]

    def connector_choices(self) -> list[tuple[type[Connector], forms.Form, bool]]:
        selected = (self.data.get("connector") if self.is_bound else self.initial.get("connector")) or ""
        return [
            (connector, config, connector.name == selected) for connector, config in self.settings.configs
        ]
