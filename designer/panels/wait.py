"""Wait (BPMN intermediateCatchEvent): for a while, until a date, or for a message."""

from __future__ import annotations

from typing import Any

from django import forms
from lxml import etree

from designer.diagram import Payload, message, timer
from designer.panels.base import BlockForm, PanelContext, definition_kind, duration_fields, setting
from designer.panels.not_run import UnsupportedForm
from designer.panels.rows import MessageFieldRows
from designer.scope import Variable
from orchestration import expressions
from orchestration.durations import duration_to_iso, iso_to_duration
from orchestration.values import is_timestamp

WAIT_KINDS = [("duration", "For a while"), ("date", "Until a date"), ("message", "For a message")]


class WaitForm(BlockForm):
    kind = "wait"
    label = "Wait"
    icon = "bi-hourglass-split"
    help = "The request pauses here for a time, until a date, or until a message arrives."
    partial = "wait"
    live = {"wait_date": {"expect": "moment"}, "correlation_key": {"expect": "key"}}
    row_sets = {"carries": (MessageFieldRows, "messageField", {})}

    wait_kind = forms.ChoiceField(
        label="Wait", choices=WAIT_KINDS, widget=forms.RadioSelect, initial="duration"
    )
    wait_count, wait_unit = duration_fields("Wait for", "")
    wait_date = forms.CharField(
        label="Until",
        required=False,
        max_length=expressions.MAX_LENGTH,
        help_text="A date and time such as 2026-12-24T09:00:00+00:00, or a date from the request.",
    )
    message_name = forms.CharField(label="Message name", required=False, max_length=200)
    correlation_key = forms.CharField(
        label="Match on",
        required=False,
        max_length=expressions.MAX_LENGTH,
        help_text="Which request a message is for: the value the message carries as its key, e.g. <code data-technical>order_id</code>.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["message_name"].widget.attrs["list"] = "known-messages"

    @classmethod
    def panel_for(cls, element: etree._Element) -> type[BlockForm]:
        """Timer and message catch events are waits; other catch events Baton does not run."""
        return cls if definition_kind(element) in (None, "timer", "message") else UnsupportedForm

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
                "correlation_key": setting(ctx, "correlationKey"),
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
            payload["extensions"] = {"messageField": self.rows["carries"].items()}
            return payload
        payload["attrs"] = {"baton:correlationKey": None}
        payload["extensions"] = {"messageField": []}
        if data["wait_kind"] == "date":
            payload["timer"] = {"kind": "timeDate", "value": data["wait_date"].strip()}
        else:
            payload["timer"] = {
                "kind": "timeDuration",
                "value": duration_to_iso(data["wait_count"], data["wait_unit"]),
            }
        return payload
