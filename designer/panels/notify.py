"""Notify (BPMN sendTask running the email connector): recipients, subject and message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from django import forms
from django.core.exceptions import ValidationError
from lxml import etree

from designer.cel_builder import (
    NotRepresentable,
    cel_to_recipients,
    cel_to_text,
    check_cel,
    recipients_to_cel,
    text_to_cel,
)
from designer.diagram import Payload, baton_attr, extension_items
from designer.panels.automated_step import AutomatedStepForm, ConnectorSettings
from designer.panels.base import BlockForm, PanelContext
from designer.scope import Scope
from orchestration import expressions
from orchestration.connectors import registry

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
    help = "Sends an email. Write a value's name in double braces, e.g. {{amount}}, to put it in the text, or pick one from the list."
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

    @classmethod
    def panel_for(cls, element: etree._Element) -> type[BlockForm]:
        """A send task running another connector than email: its settings are a connector's."""
        return cls if (baton_attr(element, "connector") or "email").strip() == "email" else AutomatedStepForm

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        email = registry.get("email").__class__
        self.settings = ConnectorSettings(self, [email], "email")
        self.config = self.settings.config_for("email")
        # A placeholder that looks like a value is taken for one: say what to write instead.
        self.fields["to"].widget.attrs["placeholder"] = "User names or email addresses"

    def subforms(self) -> list[forms.Form]:
        return [*super().subforms(), *([self.config] if self.config is not None else [])]

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        inputs = {i.get("name", ""): i.get("expression", "") for i in extension_items(ctx.element, "input")}
        if not inputs:  # a new Notify most often tells the person who asked
            inputs["to"] = "initiator"
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
        others = [i for i in extension_items(self.ctx.element, "input") if i.get("name") not in NOTIFY_TEXTS]
        inputs = [{"name": name, "expression": self.cel[name]} for name in NOTIFY_TEXTS if name in self.cel]
        payload["attrs"] = {"baton:connector": "email"}
        payload["extensions"] = {
            "property": self.settings.properties("email"),
            "input": inputs
            + [{"name": i.get("name", ""), "expression": i.get("expression", "")} for i in others],
        }
        return payload
