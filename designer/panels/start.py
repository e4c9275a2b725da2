"""Start (BPMN startEvent): a form, a schedule, a webhook or a message."""

from __future__ import annotations

from typing import Any

from django import forms
from lxml import etree

from designer.diagram import Payload, baton_attr, extension_items, message, timer
from designer.panels.base import BlockForm, PanelContext, definition_kind
from designer.panels.not_run import UnsupportedForm
from designer.panels.rows import FormFieldRows, MessageFieldRows, VariableRows
from designer.panels.schedule import ScheduleForm
from designer.scope import Scope
from orchestration.engine.human import AMOUNT_TYPES, TITLE_TYPES

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
    help = "How a request begins, and the data it starts with: each form field, or value a message carries, is a value later steps can use."
    partial = "start"
    row_sets = {
        "fields": (FormFieldRows, "formField", {}),
        "payload": (VariableRows, "input", {"payload": "map"}),
        "carries": (MessageFieldRows, "messageField", {}),
    }

    start_kind = forms.ChoiceField(
        label="Starts", choices=START_KINDS, widget=forms.RadioSelect, initial="form"
    )
    message_name = forms.CharField(label="Message name", required=False, max_length=200)
    title_field = forms.ChoiceField(
        label="Request title",
        required=False,
        help_text="The field that names a request in inboxes and lists, e.g. the item bought.",
    )
    amount_field = forms.ChoiceField(
        label="Amount to approve",
        required=False,
        help_text="The money field inboxes show and sort by, with its currency.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["message_name"].widget.attrs["list"] = "known-messages"
        self._offer_summary_fields()
        # Its own form: the check made while someone changes the schedule validates it alone.
        self.schedule = ScheduleForm(self.data if self.is_bound else None, found=timer(self.ctx.element))

    @classmethod
    def panel_for(cls, element: etree._Element) -> type[BlockForm]:
        """Plain, timer and message starts have this form; other start events Baton does not run."""
        return cls if definition_kind(element) in (None, "timer", "message") else UnsupportedForm

    def _offer_summary_fields(self) -> None:
        """Offer the form's fields (as saved, plus any typed in this panel) for the title and the amount."""
        found: dict[str, tuple[str, str]] = {}
        for item in extension_items(self.ctx.element, "formField"):
            found[item.get("name", "")] = (item.get("label", ""), item.get("type", "string"))
        if self.is_bound:
            prefix = self.rows["fields"].prefix
            for key, value in self.data.items():
                if key.startswith(f"{prefix}-") and key.endswith("-name") and value.strip():
                    row = key.removesuffix("-name")
                    found.setdefault(
                        value.strip(),
                        (self.data.get(f"{row}-label", ""), self.data.get(f"{row}-type", "string")),
                    )
        for field, types, empty in (
            ("title_field", TITLE_TYPES, "The usual one (item, title or subject)"),
            ("amount_field", AMOUNT_TYPES, "The form's money field, if it has one"),
        ):
            choices = [(n, label or n) for n, (label, kind) in found.items() if n and kind in types]
            self.fields[field].choices = [("", empty), *choices]  # type: ignore[attr-defined]

    def known_messages(self) -> list[str]:
        return self.ctx.diagram.message_names()

    def shows_form_fields_on_message(self) -> bool:
        """A message Start has no form; one saved with form fields shows them, so they can be removed."""
        return bool(self.rows["fields"].forms)

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        found = timer(ctx.element)
        name = message(ctx.element, ctx.diagram)
        summary = {
            "title_field": baton_attr(ctx.element, "titleField") or "",
            "amount_field": baton_attr(ctx.element, "amountField") or "",
        }
        if found is not None:
            return {"start_kind": "schedule", **summary}
        if name is not None:
            return {"start_kind": "event", "message_name": name}
        kind = "webhook" if extension_items(ctx.element, "input") else "form"
        return {"start_kind": kind, **summary}

    def row_scope(self, prefix: str) -> Scope:
        # The webhook mapping reads only the request's payload (and the built-ins).
        return Scope(tuple(v for v in self.ctx.scope.variables if v.origin == "Built in"))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("start_kind")
        if kind == "schedule" and not self.schedule.is_valid():
            self.add_error(None, "Check the schedule below.")
        if kind == "event" and not data.get("message_name", "").strip():
            self.add_error("message_name", "Name the message that starts the workflow.")
        return data

    def subforms(self) -> list[forms.Form]:
        return [self.schedule] if self.is_bound and self.data.get("start_kind") == "schedule" else []

    def payload(self) -> Payload:
        payload = super().payload()
        data = self.cleaned_data
        kind = data["start_kind"]
        payload["startKind"] = kind
        payload["extensions"] = {
            "formField": self.rows["fields"].items(),
            "input": self.rows["payload"].items() if kind == "webhook" else [],
            "messageField": self.rows["carries"].items() if kind == "event" else [],
        }
        keeps_form = kind != "event"
        payload["attrs"] = {
            "baton:titleField": (data.get("title_field") or None) if keeps_form else None,
            "baton:amountField": (data.get("amount_field") or None) if keeps_form else None,
        }
        if kind == "schedule" and self.schedule.timer is not None:
            payload["timer"] = self.schedule.timer
        elif kind == "event":
            payload["message"] = {"name": " ".join(data["message_name"].split())}
        return payload
