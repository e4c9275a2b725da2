"""A schedule in plain choices, written as the BPMN timer the compiler reads (``orchestration.schedules``).

"Every weekday at 9:00" becomes cron (``0 9 * * 1-5``), "every 2 hours" an ISO cycle
(``R/PT2H``), "once, on a date" a timeDate, and the advanced box takes any cycle or date as
typed. Part of the Start's panel (its own form, so the check made while typing validates it alone).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any

from django import forms
from django.utils import timezone

from designer.diagram import Timer
from designer.panels.base import PanelRenderer, duration_fields
from orchestration import values
from orchestration.durations import duration_to_iso, iso_to_duration, parse_duration
from orchestration.schedules import BPMN_ELEMENTS, TimerError, TimerSpec, parse_moment, parse_timer
from orchestration.templatetags.moments import when

SCHEDULE_KINDS = [
    ("weekly", "On chosen days, at a time"),
    ("every", "Every few minutes, hours or days"),
    ("once", "Once, on a date and time"),
    ("advanced", "Advanced: an ISO 8601 cycle or cron"),
]
# Cron's weekday numbers, Monday first as people read a week.
WEEKDAYS = [("1", "Mon"), ("2", "Tue"), ("3", "Wed"), ("4", "Thu"), ("5", "Fri"), ("6", "Sat"), ("0", "Sun")]
_WORKDAYS = ["1", "2", "3", "4", "5"]
_WEEKLY_CRON = re.compile(r"(\d{1,2}) (\d{1,2}) \* \* (\*|[0-7](?:[-,][0-7])*)")
_LOCAL_INPUT = "%Y-%m-%dT%H:%M"
# What the check made while someone types is called (``designer.panel.check``).
CHECK = "schedule"


class ScheduleForm(forms.Form):
    """The schedule's choices; valid, :attr:`timer` is what to write and :attr:`spec` what it means."""

    default_renderer = PanelRenderer

    schedule_kind = forms.ChoiceField(
        label="When", choices=SCHEDULE_KINDS, widget=forms.RadioSelect, initial="weekly"
    )
    schedule_days = forms.MultipleChoiceField(
        label="On",
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=_WORKDAYS,
    )
    schedule_time = forms.TimeField(
        label="At",
        required=False,
        initial=time(9, 0),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    every_count, every_unit = duration_fields("Every", "Counted from when the version is published.")
    once_at = forms.DateTimeField(
        label="On",
        required=False,
        input_formats=[_LOCAL_INPUT, "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_LOCAL_INPUT),
    )
    advanced = forms.CharField(
        label="Cycle, cron or date",
        required=False,
        max_length=200,
        help_text=(
            "<code>R/PT1H</code> every hour; <code>R3/2026-01-01T09:00:00Z/P1D</code> three days from a date; "
            "<code>0 9 * * 1-5</code> cron (minute hour day month weekday); "
            "<code>2026-12-24T09:00:00Z</code> once."
        ),
    )

    def __init__(self, data: Mapping[str, Any] | None = None, *, found: Timer | None = None) -> None:
        """Bound to what was posted, or (``data`` None) showing ``found``, the element's timer."""
        super().__init__(data, initial=None if data is not None else self.initial_from(found))
        self.found = found
        # Only the chosen kind's fields matter: a unit left out is hours.
        self.fields["every_unit"].initial, self.fields["every_unit"].required = "hours", False
        zone = timezone.get_default_timezone_name()
        self.fields["schedule_time"].help_text = f"In {zone}."
        self.fields["once_at"].help_text = f"In {zone}."
        self.fields["advanced"].widget.attrs.update({"spellcheck": "false", "placeholder": "R/PT1H"})
        self.timer: Timer | None = None
        self.spec: TimerSpec | None = None

    @staticmethod
    def initial_from(found: Timer | None) -> dict[str, Any]:
        """The choices that show ``found`` (a timer element's kind and text); the advanced box otherwise."""
        if found is None or not found["value"]:
            return {}
        text = found["value"]
        try:
            if found["kind"] == "timeDate":
                moment = timezone.localtime(parse_moment(text), timezone.get_default_timezone())
                return {"schedule_kind": "once", "once_at": moment.replace(tzinfo=None)}
            spec = parse_timer("cycle", text) if found["kind"] == "timeCycle" else None
        except TimerError:
            spec = None
        weekly = _WEEKLY_CRON.fullmatch(text)
        if spec is not None and weekly and int(weekly[1]) < 60 and int(weekly[2]) < 24:
            return {
                "schedule_kind": "weekly",
                "schedule_time": time(int(weekly[2]), int(weekly[1])),
                "schedule_days": _days(weekly[3]),
            }
        if spec is not None and not spec.cron and spec.at is None and spec.repeats is None:
            count, unit = iso_to_duration(text.removeprefix("R/"))
            if count is not None and parse_duration(duration_to_iso(count, unit)) == spec.every:
                return {"schedule_kind": "every", "every_count": count, "every_unit": unit}
        return {"schedule_kind": "advanced", "advanced": text}

    def clean(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data.get("schedule_kind")
        try:
            if kind == "weekly":
                self.timer = self._weekly(data)
            elif kind == "every":
                self.timer = self._every(data)
            elif kind == "once":
                self.timer = self._once(data)
            elif kind == "advanced":
                self.timer = _advanced(data.get("advanced", ""))
            if self.timer is not None:
                self.spec = parse_timer(_KINDS[self.timer["kind"]], self.timer["value"])
        except TimerError as exc:
            self.timer = None
            self.add_error(_SAYS_WHY.get(str(kind)), str(exc))
        return data

    def _every(self, data: dict[str, Any]) -> Timer | None:
        count = data.get("every_count")
        if not count or "every_unit" in self.errors:
            if "every_count" not in self.errors:
                self.add_error("every_count", "Say how often.")
            return None
        every = duration_to_iso(count, data.get("every_unit") or "hours")
        return {"kind": "timeCycle", "value": f"R/{every}"}

    def _weekly(self, data: dict[str, Any]) -> Timer | None:
        at, days = data.get("schedule_time"), data.get("schedule_days") or []
        if at is None and "schedule_time" not in self.errors:
            self.add_error("schedule_time", "Say at what time.")
        if not days:
            self.add_error("schedule_days", "Choose at least one day.")
        if at is None or not days:
            return None
        chosen = sorted(days, key=lambda d: (int(d) + 6) % 7)
        field = "1-5" if chosen == _WORKDAYS else ("*" if len(chosen) == 7 else ",".join(chosen))
        return {"kind": "timeCycle", "value": f"{at.minute} {at.hour} * * {field}"}

    def _once(self, data: dict[str, Any]) -> Timer | None:
        moment: datetime | None = data.get("once_at")
        if moment is None:
            if "once_at" not in self.errors:
                self.add_error("once_at", "Say on which date and at what time.")
            return None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
        if moment <= timezone.now():
            self.add_error("once_at", "That moment has passed: choose one still to come.")
            return None
        return {"kind": "timeDate", "value": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}

    def preview(self) -> str:
        """What the schedule does and its next moments, in plain words ("" when it cannot tell)."""
        spec, found = self.spec, self.found
        if spec is None and not self.is_bound and found is not None and found["value"]:
            try:
                spec = parse_timer(_KINDS[found["kind"]], found["value"])
            except TimerError:
                spec = None
        return preview_of(spec)


_KINDS = {element: kind for kind, element in BPMN_ELEMENTS.items()}
# The field that shows why a schedule of each kind cannot run.
_SAYS_WHY = {"every": "every_count", "once": "once_at", "advanced": "advanced"}


def preview_of(spec: TimerSpec | None) -> str:
    """``Starts every weekday at 09:00 UTC. Next, if published now: …``."""
    if spec is None:
        return ""
    moments = spec.upcoming(timezone.now(), 3)
    following = ", ".join(when(m) for m in moments) if moments else "none, its moments have passed"
    return f"Starts {spec.describe()}. Next, if published now: {following}."


def check(data: Mapping[str, Any]) -> dict[str, str]:
    """The preview or the problem, for the check made while someone changes the schedule."""
    form = ScheduleForm(data)
    if form.is_valid():
        return {"ok": preview_of(form.spec)}
    messages = [str(m) for errors in form.errors.values() for m in errors]
    return {"error": " ".join(messages)} if messages else {}


def _advanced(text: str) -> Timer:
    text = " ".join(text.split())
    if not text:
        raise TimerError("Write a cycle such as R/PT1H, a cron expression such as 0 9 * * 1-5, or a date.")
    if values.is_timestamp(text) and "/" not in text:
        parse_timer("date", text)
        return {"kind": "timeDate", "value": text}
    parse_timer("cycle", text)
    return {"kind": "timeCycle", "value": text}


def _days(field: str) -> list[str]:
    """Cron's weekday field as the checkboxes' values (7 is Sunday too)."""
    if field == "*":
        return [d for d, _ in WEEKDAYS]
    days: set[int] = set()
    for part in field.split(","):
        low, _, high = part.partition("-")
        days.update(range(int(low), int(high or low) + 1))
    return [d for d, _ in WEEKDAYS if int(d) in {n % 7 for n in days}]
