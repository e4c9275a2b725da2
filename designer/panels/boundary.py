"""Events on a step (BPMN boundaryEvent): deadlines, reminders, "If it fails", messages while waiting.

The same words twice: the section "Deadlines, failures and messages" in the panel of every
kind whose ``Kind.boundary_events`` allows some (it lists the step's events and adds new
ones), and the panel of one event selected on the canvas. Both write what
``orchestration.engine.blocks.boundary`` reads.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from django import forms
from lxml import etree

from designer.cel_builder import check_cel
from designer.diagram import Attach, Payload, baton_attr, error_ref, local, message, timer
from designer.panels.base import (
    BlockForm,
    PanelContext,
    Section,
    choice_field,
    definition_kind,
    display_name,
    duration_fields,
    kind_of,
    variable_name,
)
from designer.panels.not_run import UnsupportedForm
from designer.scope import Variable
from orchestration import expressions
from orchestration.connectors import presets
from orchestration.durations import UNITS, duration_to_iso, iso_to_duration

if TYPE_CHECKING:
    from orchestration.engine.blocks.base import Kind

Role = Literal["deadline", "reminder", "error", "message"]
# Each role: the event it is (its trigger), its name on the panel, and what it does, in words.
ROLES: dict[str, tuple[str, str, str]] = {
    "deadline": ("timer", "Deadline", "After a time, stop waiting and take another path"),
    "reminder": ("timer", "Reminder", "After a time, also take another path (the step goes on)"),
    "error": ("error", "If it fails", "When the step fails, take another path"),
    "message": ("message", "Message while waiting", "When a message arrives, take another path"),
}
_UNIT_WORDS = {unit: word for unit, word, _ in UNITS}
# A cycle the panel can show as words: "R3/P1D" (3 times, daily) or "R/PT4H" (until the step is done).
_PLAIN_CYCLE = re.compile(r"R(?P<times>\d*)/(?P<every>P[^/]+)")


def role_of(el: etree._Element) -> Role | None:
    """What an event on a step does, from its definition and whether it stops the step."""
    kind = definition_kind(el)
    goes_on = el.get("cancelActivity", "").strip().lower() == "false"
    if kind == "timer":
        return "reminder" if goes_on else "deadline"
    if kind in ("error", "message"):
        return kind  # type: ignore[return-value]
    return None


def _after(count: int, unit: str) -> str:
    word = _UNIT_WORDS.get(unit, unit)
    return f"{count} {word.removesuffix('s') if count == 1 else word}"


def describe(el: etree._Element, ctx: PanelContext) -> str:
    """One sentence for an event on a step, as the step's panel lists it."""
    role = role_of(el)
    found = timer(el)
    if role in ("deadline", "reminder") and found is not None:
        count, unit, times = _timer_parts(found["value"])
        if count is None:
            return f"At {found['value']}"
        if role == "deadline":
            return f"After {_after(count, unit)}, stop waiting"
        if found["kind"] == "timeCycle":
            return f"Every {_after(count, unit)}" + (f", up to {times} times" if times else "")
        return f"After {_after(count, unit)}, once"
    if role == "error":
        code = error_ref(el, ctx.diagram) or ""
        return f'When it fails with "{code}"' if code else "When it fails, for any reason"
    if role == "message":
        name = message(el, ctx.diagram) or "?"
        stops = el.get("cancelActivity", "").strip().lower() != "false"
        return f'When "{name}" arrives' + (", stop waiting" if stops else "; the step goes on waiting")
    return "Waits for something Baton does not run"


def _timer_parts(value: str) -> tuple[int | None, str, int | None]:
    """(count, unit, times) of a duration (``P3D``) or a plain cycle (``R3/P1D``); count None otherwise."""
    match = _PLAIN_CYCLE.fullmatch(value.strip())
    if match is not None:
        count, unit = iso_to_duration(match["every"])
        return count, unit, int(match["times"]) if match["times"] else None
    count, unit = iso_to_duration(value)
    return count, unit, None


def _named_by_default(el: etree._Element, ctx: PanelContext) -> bool:
    """Whether the event still has the name the panel gave it (its sentence then says it all)."""
    data = EventFields.event_initial(el, ctx)
    if data["role"] in ("deadline", "reminder") and not data.get("after_count"):
        return False
    data.setdefault("error_code", "")
    data.setdefault("message_name", "")
    return bool(data["role"]) and EventFields.default_names(data)[0] == display_name(el)


KNOWN = "known:"  # an error_which choice naming one of the host step's declared error codes


def _declared_errors(host: etree._Element | None) -> dict[str, str]:
    """The business error codes the host step's connector (or preset) declares, with their words."""
    if host is None or local(host) not in ("serviceTask", "sendTask"):
        return {}
    connector = (baton_attr(host, "connector") or ("email" if local(host) == "sendTask" else "")).strip()
    found = presets.action(connector, (baton_attr(host, "preset") or "").strip()) if connector else None
    return dict(found.error_codes) if found is not None else {}


class EventFields(forms.Form):
    """What an event on a step waits for and does, in words (shared by the section and the event's panel)."""

    ctx: PanelContext  # set by the panel form or section this is mixed into

    role = forms.ChoiceField(
        label="What happens",
        choices=[(key, f"{label}: {words.lower()}") for key, (_, label, words) in ROLES.items()],
        required=False,
    )
    after_count, after_unit = duration_fields("After", "")
    repeat = forms.BooleanField(label="Repeat, at the same interval", required=False)
    times = forms.IntegerField(
        label="Times in all",
        required=False,
        min_value=2,
        max_value=1000,
        help_text="Empty: until the step is done.",
    )
    # A time the words above cannot show (a date, a cycle from a start date), kept as the file has it.
    written_kind = forms.ChoiceField(
        choices=[("", ""), ("timeDuration", ""), ("timeDate", ""), ("timeCycle", "")],
        required=False,
        widget=forms.HiddenInput,
    )
    written = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    error_which = forms.ChoiceField(
        label="Which failures",
        choices=[("any", "Any failure"), ("code", "Only this error")],
        initial="any",
        required=False,
        widget=forms.RadioSelect,
    )
    error_code = forms.CharField(
        label="Error code",
        required=False,
        max_length=100,
        help_text="The code the step answers with, e.g. <code data-technical>BUDGET_EXHAUSTED</code>.",
    )
    error_variable = forms.CharField(
        label="Keep the error in",
        required=False,
        max_length=100,
        help_text="Optional: later steps read its <code>code</code> and <code>message</code>.",
    )
    message_name = forms.CharField(label="Message name", required=False, max_length=200)
    correlation_key = forms.CharField(
        label="Match on",
        required=False,
        max_length=expressions.MAX_LENGTH,
        help_text="Which request a message is for: the value the message carries as its key, e.g. <code data-technical>order_id</code>.",
    )
    message_stops = forms.ChoiceField(
        label="The step",
        choices=[("stop", "Stops waiting"), ("goes_on", "Goes on waiting")],
        initial="stop",
        required=False,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["after_unit"].required = False  # days, unless another unit is chosen
        # The host step's declared failures are choices; any other code stays possible under "Advanced".
        self.declared_errors = _declared_errors(self._host())
        which = choice_field(self.fields["error_which"])
        which.choices = [
            ("any", "Any failure"),
            *((KNOWN + code, words) for code, words in self.declared_errors.items()),
            ("code", "Another error, by its code" if self.declared_errors else "Only this error"),
        ]
        code = self.initial.get("error_code") if not self.is_bound else None
        if code and code in self.declared_errors and self.initial.get("error_which") == "code":
            self.initial["error_which"] = KNOWN + code
        self.fields["error_code"].widget.attrs["list"] = "known-errors"
        self.fields["error_variable"].widget.attrs["placeholder"] = "failure"
        self.fields["message_name"].widget.attrs["list"] = "known-messages"

    def _host(self) -> etree._Element | None:
        """The step the event is on: the selected step (section) or the one it is attached to."""
        ref = self.ctx.element.get("attachedToRef", "").strip()
        return self.ctx.diagram.find(ref) if ref else self.ctx.element

    def chosen_code(self, data: dict[str, Any]) -> str:
        """The error code the event catches ("" for any failure)."""
        which = data.get("error_which") or "any"
        if which.startswith(KNOWN):
            return which.removeprefix(KNOWN)
        return (data.get("error_code") or "").strip() if which == "code" else ""

    # reading

    @staticmethod
    def event_initial(el: etree._Element, ctx: PanelContext) -> dict[str, Any]:
        role = role_of(el)
        initial: dict[str, Any] = {"role": role or "", "error_which": "any", "message_stops": "stop"}
        found = timer(el)
        if found is not None:
            count, unit, times = _timer_parts(found["value"])
            repeat = found["kind"] == "timeCycle"
            initial.update(after_count=count, after_unit=unit, repeat=repeat, times=times)
            if count is None and found["value"]:
                initial.update(written_kind=found["kind"], written=found["value"])
        code = error_ref(el, ctx.diagram)
        if code is not None:
            initial.update(error_which="code" if code else "any", error_code=code)
            initial["error_variable"] = (baton_attr(el, "errorVariable") or "").strip()
        name = message(el, ctx.diagram)
        if name is not None:
            stops = el.get("cancelActivity", "").strip().lower() != "false"
            initial.update(
                message_name=name,
                correlation_key=(baton_attr(el, "correlationKey") or "").strip(),
                message_stops="stop" if stops else "goes_on",
            )
        return initial

    # checking

    def clean_error_variable(self) -> str:
        name: str = self.cleaned_data["error_variable"].strip()
        return variable_name(name) if name else ""

    def clean_event(self, data: dict[str, Any], types: dict[str, Any]) -> None:
        """Record what the chosen role is missing or gets wrong."""
        role = data.get("role")
        if role in ("deadline", "reminder"):
            if not data.get("after_count") and not data.get("written"):
                self.add_error("after_count", "Say after how long.")
        elif role == "error":
            if data.get("error_which") == "code" and not data.get("error_code", "").strip():
                self.add_error("error_code", "Give the error code, or choose any failure.")
        elif role == "message":
            if not data.get("message_name", "").strip():
                self.add_error("message_name", "Name the message.")
            key = data.get("correlation_key", "").strip()
            if not key:
                self.add_error(
                    "correlation_key", "Say which value a message must carry to reach this request."
                )
            else:
                try:
                    check_cel(key, types, "key")
                except forms.ValidationError as exc:
                    self.add_error("correlation_key", exc)

    # writing

    def event_payload(self, element: str, data: dict[str, Any]) -> Payload:
        """The event's own settings: its name left out, its definition and attributes."""
        role: Role = data["role"]
        payload: Payload = {"element": element}
        stops = role in ("deadline", "error") or (
            role == "message" and data.get("message_stops") != "goes_on"
        )
        payload["attrs"] = {
            "cancelActivity": None if stops else False,
            "baton:errorVariable": (data.get("error_variable") or None) if role == "error" else None,
            "baton:correlationKey": data["correlation_key"].strip() if role == "message" else None,
        }
        if role in ("deadline", "reminder") and not data.get("after_count"):
            payload["timer"] = {"kind": data["written_kind"] or "timeDuration", "value": data["written"]}
        elif role in ("deadline", "reminder"):
            every = duration_to_iso(data["after_count"], data["after_unit"] or "days")
            if role == "reminder" and data.get("repeat"):
                payload["timer"] = {"kind": "timeCycle", "value": f"R{data.get('times') or ''}/{every}"}
            else:
                payload["timer"] = {"kind": "timeDuration", "value": every}
        elif role == "error":
            payload["error"] = {"code": self.chosen_code(data)}
        else:
            payload["message"] = {"name": " ".join(data["message_name"].split())}
        return payload

    @staticmethod
    def default_names(data: dict[str, Any]) -> tuple[str, str]:
        """A name for a new event and for the End of its path, so the diagram and the history read well."""
        role = data["role"]
        if role == "deadline":
            return f"After {_after(data['after_count'], data['after_unit'] or 'days')}", "Out of time"
        if role == "reminder":
            every = _after(data["after_count"], data["after_unit"] or "days")
            return (f"Every {every}" if data.get("repeat") else f"After {every}"), "Reminded"
        if role == "error":
            which = data.get("error_which") or "any"
            code = which.removeprefix(KNOWN) if which.startswith(KNOWN) else ""
            code = code or (data["error_code"].strip() if which == "code" else "")
            return (f"If it fails: {code}" if code else "If it fails"), "Failed"
        return " ".join(data["message_name"].split()), "Message received"

    # the pickers

    def key_variables(self) -> list[tuple[str, list[Variable]]]:
        scope = self.ctx.scope
        return scope.groups(scope.of_type("string", "integer", "number", "date"))

    def known_messages(self) -> list[str]:
        return self.ctx.diagram.message_names()

    def known_errors(self) -> list[str]:
        return sorted({code for _, code in self.ctx.diagram.errors() if code})


class BoundaryForm(EventFields, BlockForm):
    """One event on a step, selected on the canvas."""

    kind = "boundary"
    label = "Event on a step"
    icon = "bi-alarm"
    help = "Something that can happen while the step it is attached to runs, and the path it then takes."
    partial = "boundary"
    live = {"correlation_key": {"expect": "key"}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        host = self.ctx.diagram.find(self.ctx.element.get("attachedToRef", "").strip())
        host_kind = kind_of(host) if host is not None else None
        allowed = (
            host_kind.boundary_events if host_kind is not None else frozenset(("timer", "error", "message"))
        )
        role = choice_field(self.fields["role"])
        role.required = True
        role.widget = forms.RadioSelect()
        role.choices = [
            (key, f"{label}: {words[0].lower()}{words[1:]}")
            for key, (trigger, label, words) in ROLES.items()
            if trigger in allowed
        ]
        self.host_name = display_name(host) if host is not None else ""
        current = role_of(self.ctx.element)
        if current is not None:
            self.label = ROLES[current][1]

    @classmethod
    def panel_for(cls, element: etree._Element) -> type[BlockForm]:
        """Timer, error and message events (or one not chosen yet); others Baton does not run."""
        return cls if role_of(element) is not None or definition_kind(element) is None else UnsupportedForm

    @classmethod
    def initial_from_xml(cls, ctx: PanelContext) -> dict[str, Any]:
        return cls.event_initial(ctx.element, ctx)

    def clean(self) -> dict[str, Any]:
        super().clean()
        self.clean_event(self.cleaned_data, self.ctx.scope.types())
        return self.cleaned_data

    def payload(self) -> Payload:
        event = self.event_payload(self.ctx.element_id, self.cleaned_data)
        event["name"] = super().payload()["name"]
        return event


class EventsSection(EventFields, Section):
    """The step's events: listed with a way to edit or remove each, and a new one to add."""

    prefix = "events"
    partial = "events"
    live = {"correlation_key": {"expect": "key"}}

    # Posted by the Remove button of one listed event (never rendered as a field).
    remove = forms.CharField(required=False, max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = kind_of(self.ctx.element)
        allowed = kind.boundary_events if kind is not None else frozenset()
        role = choice_field(self.fields["role"])
        role.label = "Add"
        role.choices = [("", "Choose what to add…")] + [
            (key, words) for key, (trigger, label, words) in ROLES.items() if trigger in allowed
        ]
        self.fields["role"].widget.attrs["data-testid"] = "add-event"
        self.allowed = allowed

    @classmethod
    def applies(cls, kind: Kind[Any]) -> bool:
        return bool(kind.boundary_events)

    def title(self) -> str:
        """The section's heading: the events this kind of step allows, e.g. "Deadlines and messages"."""
        words = {"timer": "deadlines", "error": "failures", "message": "messages"}
        parts = [words[t] for t in ("timer", "error", "message") if t in self.allowed]
        text = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]
        return text.capitalize()

    def existing(self) -> list[dict[str, str]]:
        """The events on this step, each with its role's name, its sentence and its id."""
        rows = []
        for el in self.ctx.diagram.attached_to(self.ctx.element_id):
            role = role_of(el)
            text = describe(el, self.ctx)
            name = "" if _named_by_default(el, self.ctx) else display_name(el)
            rows.append(
                {
                    "id": el.get("id", ""),
                    "label": ROLES[role][1] if role else "Event",
                    "text": text,
                    "name": "" if name in text or (role and name == ROLES[role][1]) else name,
                }
            )
        return rows

    def clean_remove(self) -> str:
        value: str = self.cleaned_data["remove"].strip()
        if value and value not in {row["id"] for row in self.existing()}:
            raise forms.ValidationError("That event is no longer on this step.")
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("role"):
            self.clean_event(data, self.ctx.scope.types())
        return data

    def contribute(self, payload: Payload) -> None:
        data = self.cleaned_data
        if data["remove"]:
            payload["remove"] = self._removed(data["remove"])
        if not data["role"]:
            return
        diagram = self.ctx.diagram
        host = self.ctx.element_id
        event_id = diagram.new_id(f"Event_{host}_{data['role']}")
        end_id = diagram.new_id(f"{event_id}_end")
        event_name, end_name = self.default_names(data)
        settings = self.event_payload(event_id, data)
        settings["name"] = event_name
        trigger: Any = ROLES[data["role"]][0]
        attach: Attach = {
            "id": event_id,
            "host": host,
            "definition": trigger,
            "interrupting": settings["attrs"]["cancelActivity"] is None,
            "end": {"id": end_id, "name": end_name},
            "flow": diagram.new_id(f"Flow_{event_id}"),
            "settings": settings,
        }
        payload["attach"] = attach

    def _removed(self, event_id: str) -> list[str]:
        """The event, and the End its path goes straight to when nothing else leads there."""
        removed = [event_id]
        for flow in self.ctx.diagram.outgoing(event_id):
            target_id = flow.get("targetRef", "").strip()
            target = self.ctx.diagram.find(target_id)
            only_from_here = len(self.ctx.diagram.incoming(target_id)) == 1
            if target is not None and local(target) == "endEvent" and only_from_here:
                removed.append(target_id)
        return removed
