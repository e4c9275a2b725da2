"""BPMN timer definitions: when a timer is due, first and again, in every form BPMN writes them.

One reader for the scheduled Start, the Wait, and timers on steps (deadlines and reminders)::

    spec = parse_timer("cycle", "R3/2026-01-01T09:00:00Z/P1D")   # raises TimerError, in plain words
    due = spec.first_due(started_at)          # None: it never fires (all its moments are before start)
    due = spec.next_due(due, fired=1)         # None: no repetition left (R3 fires 3 times)
    spec.describe()                           # "3 times, every day from 1 Jan 2026, 09:00 UTC"

``kind`` is the BPMN element's: ``duration`` (timeDuration: once, that long after the start),
``date`` (timeDate: once, at that moment) or ``cycle`` (timeCycle), where a cycle is

- ``R[n]/<duration>``: every <duration> counted from the start (``R/PT1H``, ``R3/PT10M``);
- ``R[n]/<date-time>/<duration>``: at that date-time, then every <duration>; moments before the
  start are skipped and count as used (``R3/2026-01-01T09:00:00Z/P1D`` started on 2 Jan at noon
  fires once more, on 3 Jan at 09:00);
- a cron expression with 5 fields (minute hour day month weekday), in the server's time zone.

``R`` alone repeats forever, ``Rn`` n times (n ≥ 1). Durations are exact (``orchestration.durations``:
weeks, days, hours, minutes, seconds; a day is 24 hours, never a calendar day, so no daylight-saving
jumps); years and months are refused (use cron for "every month"). Date-times are ISO 8601 with an
offset or ``Z``; one without is in the server's time zone (``TIME_ZONE``). Every moment returned is
an aware datetime in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, TypedDict

from croniter import CroniterBadDateError, croniter
from django.utils import timezone

from orchestration import values
from orchestration.bpmn.context import text_of
from orchestration.bpmn.parse import bpmn
from orchestration.durations import duration_problem, duration_words, parse_duration
from orchestration.templatetags.moments import when

if TYPE_CHECKING:
    from lxml import etree

TimerKind = Literal["duration", "date", "cycle"]
TIMER_KINDS: tuple[TimerKind, ...] = ("duration", "date", "cycle")
# The BPMN element of each kind, inside a timerEventDefinition.
BPMN_ELEMENTS: dict[TimerKind, str] = {"duration": "timeDuration", "date": "timeDate", "cycle": "timeCycle"}

# A cycle faster than this would start a request (or send a reminder) more often than anyone means.
SHORTEST_CYCLE = timedelta(minutes=1)
# Durations beyond this are typing mistakes, and would leave the calendar when added to a date.
LONGEST_DURATION = timedelta(days=36525)

_REPEAT = re.compile(r"R(\d*)")
_EXAMPLES = "such as R/PT1H, R3/2026-01-01T09:00:00Z/P1D or a cron expression such as 0 9 * * 1-5"


class TimerText(TypedDict):
    """A timer definition as a compiled graph keeps it: parse it again with :func:`parse_timer`."""

    kind: TimerKind
    text: str


class TimerError(ValueError):
    """A timer definition Baton cannot run; its message says why, quoting the text."""


@dataclass(frozen=True)
class TimerSpec:
    """A parsed timer definition (build it with :func:`parse_timer`). Immutable; knows no clock."""

    kind: TimerKind
    text: str
    every: timedelta | None = None  # duration: how long; cycle: the interval (None for cron)
    at: datetime | None = None  # date: the moment; cycle: the first moment, when it names one
    repeats: int | None = None  # cycle: how many times in all; None repeats forever
    cron: str = ""  # cycle written as cron

    def first_due(self, start: datetime) -> datetime | None:
        """When it is first due for something that starts at ``start``; None if never.

        A duration is due that long after ``start``; a date at that date, even if it has passed
        (so a deadline already missed fires at once: a caller that wants otherwise compares);
        a cycle at its first moment strictly after ``start`` (a cron or an interval) or, for a cycle
        with a start date, at its first moment at or after ``start``.
        """
        if self.kind == "date":
            return self.at
        if self.cron:
            return _next_cron(self.cron, start)
        assert self.every is not None
        if self.kind == "duration" or self.at is None:
            return start.astimezone(UTC) + self.every
        if start <= self.at:
            return self.at
        # Moments already past are skipped; the repetitions they stood for are used up.
        index = -((self.at - start) // self.every)
        return self._anchored(index)

    def next_due(self, previous_due: datetime, fired: int) -> datetime | None:
        """When it is due again after firing at ``previous_due``, ``fired`` times in all; None if never.

        A duration or a date fires once. A cycle of ``Rn`` stops after its n-th moment: counted by
        ``fired`` for a cycle without a start date, by its place after the start date otherwise.
        """
        if self.kind != "cycle":
            return None
        if self.cron:
            return _next_cron(self.cron, previous_due)
        assert self.every is not None
        if self.at is None:
            if self.repeats is not None and fired >= self.repeats:
                return None
            return previous_due.astimezone(UTC) + self.every
        return self._anchored((previous_due - self.at) // self.every + 1)

    def following(self, previous_due: datetime, fired: int, now: datetime) -> tuple[datetime | None, int]:
        """:meth:`next_due` for a ticker that may be late: the next moment after ``now``, and ``fired``.

        Moments missed while nothing ran (already past ``now``) are skipped and count as fired, so
        a late ticker fires once for all it missed rather than once per missed moment.
        """
        due = self.next_due(previous_due, fired)
        if due is None or due > now:
            return due, fired
        if self.cron:
            return _next_cron(self.cron, now), fired
        assert self.every is not None
        missed = (now - due) // self.every + 1
        fired += missed
        return self.next_due(due + (missed - 1) * self.every, fired), fired

    def upcoming(self, start: datetime, count: int = 3) -> list[datetime]:
        """The first ``count`` moments it is due for something starting at ``start`` (fewer if it stops)."""
        moments: list[datetime] = []
        due = self.first_due(start)
        while due is not None and len(moments) < count:
            moments.append(due)
            due = self.next_due(due, len(moments))
        return moments

    def describe(self) -> str:
        """What it does in plain words: "every 2 hours", "every weekday at 09:00 UTC", "after 3 days"."""
        if self.kind == "date":
            assert self.at is not None
            return f"once, on {when(self.at)}"
        if self.cron:
            return cron_words(self.cron)
        assert self.every is not None
        if self.kind == "duration":
            return f"after {duration_words(self.every)}"
        first = f" from {when(self.at)}" if self.at is not None else ""
        if self.repeats == 1:
            return f"once, on {when(self.at)}" if self.at else f"once, after {duration_words(self.every)}"
        times = f"{self.repeats} times, " if self.repeats else ""
        return f"{times}every {_every(self.every)}{first}"

    def _anchored(self, index: int) -> datetime | None:
        """The cycle's ``index``-th moment after its start date (0 is the start date itself)."""
        assert self.at is not None and self.every is not None
        if self.repeats is not None and index >= self.repeats:
            return None
        try:
            return self.at + index * self.every
        except OverflowError:  # past the year 9999: it never comes
            return None


def parse_timer(kind: str, text: str) -> TimerSpec:
    """Read a BPMN timer definition of ``kind`` (duration, date or cycle); raise TimerError saying why not."""
    text = " ".join((text or "").split())
    if kind not in TIMER_KINDS:
        raise TimerError(f'"{kind}" is not a kind of timer: use duration, date or cycle.')
    if not text:
        raise TimerError(f"The timer's {kind} is empty.")
    if kind == "duration":
        return TimerSpec("duration", text, every=_duration(text))
    if kind == "date":
        return TimerSpec("date", text, at=parse_moment(text))
    return _cycle(text)


def definitions_in(definition: etree._Element) -> list[TimerText]:
    """What a ``bpmn:timerEventDefinition`` holds: one kind and its text in a valid file."""
    found: list[TimerText] = []
    for kind in TIMER_KINDS:
        child = definition.find(bpmn(BPMN_ELEMENTS[kind]))
        if child is not None:
            found.append({"kind": kind, "text": text_of(child)})
    return found


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date-time in UTC (``2026-01-01T09:00:00Z``; without an offset, the server's zone)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimerError(f'"{text}" is not an ISO 8601 date and time such as 2026-01-01T09:00:00Z.') from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    utc = values.as_utc(moment)
    if utc is None:
        raise TimerError(f'"{text}" is outside the calendar Baton can keep (years 1 to 9999, UTC).')
    return utc


def _duration(text: str) -> timedelta:
    delta = parse_duration(text)
    if delta is None:
        raise TimerError(duration_problem(text))
    if delta > LONGEST_DURATION:
        raise TimerError(f'"{text}" is longer than 100 years.')
    return delta


def _cycle(text: str) -> TimerSpec:
    if values.is_cron(text):
        if _next_cron(text, timezone.now()) is None:
            raise TimerError(f'"{text}" never comes round: no month has that day.')
        return TimerSpec("cycle", text, cron=text)
    parts = text.split("/")
    repeat = _REPEAT.fullmatch(parts[0])
    if repeat is None or len(parts) not in (2, 3):
        fields = len(text.split())
        cron_like = "/" not in text and fields > 1 and bool(re.search(r"[\d*]", text))
        if cron_like and fields == 5:
            raise TimerError(f'"{text}" is not a valid cron expression (minute hour day month weekday).')
        if cron_like:
            raise TimerError(f'"{text}" has {fields} fields; cron here has 5: minute hour day month weekday.')
        raise TimerError(f'"{text}" is not a repeating cycle {_EXAMPLES}.')
    repeats = int(repeat.group(1)) if repeat.group(1) else None
    if repeats == 0:
        raise TimerError(f'"{text}" repeats 0 times: write R for ever, or R1 and more.')
    if len(parts) == 3 and parse_duration(parts[1]) is not None:
        raise TimerError(
            f'"{text}" ends at a date: write R[n]/<first date and time>/<interval>, such as '
            "R3/2026-01-01T09:00:00Z/P1D."
        )
    at = parse_moment(parts[1]) if len(parts) == 3 else None
    if parse_duration(parts[-1]) is None and re.fullmatch(r"P(?=\d)(\d+Y)?(\d+M)?", parts[-1]):
        raise TimerError(
            f'"{text}" repeats by months or years, which have no fixed length: '
            "use cron for a day of each month, such as 0 9 1 * *."
        )
    every = _duration(parts[-1])
    if every < SHORTEST_CYCLE:
        raise TimerError(f'"{text}" repeats every {duration_words(every)}; the shortest cycle is 1 minute.')
    return TimerSpec("cycle", text, every=every, at=at, repeats=repeats)


def _next_cron(cron: str, after: datetime) -> datetime | None:
    """The cron's next moment strictly after ``after``, read in the server's time zone, in UTC."""
    local = timezone.localtime(after, timezone.get_default_timezone())
    try:
        moment: datetime = croniter(cron, local).get_next(datetime)
    except CroniterBadDateError:  # a day no month has (30 February): it never comes
        return None
    return moment.astimezone(UTC)


def _every(delta: timedelta) -> str:
    words = duration_words(delta)
    return words.removeprefix("1 ") if words.startswith("1 ") else words


# --- cron in words: the shapes people write; anything else is quoted as it is

_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DAY_NAMES = {name[:3].lower(): index for index, name in enumerate(_DAYS)}
_SOME = re.compile(r"\d+(,\d+)*")


def cron_words(cron: str) -> str:
    """``0 9 * * 1-5`` -> "every weekday at 09:00 UTC"; unusual shapes -> 'on the cron schedule "…"'."""
    minute, hour, day, month, weekday = cron.split()
    zone = timezone.get_default_timezone_name()
    if (minute, hour, day, month, weekday) == ("*", "*", "*", "*", "*"):
        return "every minute"
    if minute.startswith("*/") and (hour, day, month, weekday) == ("*", "*", "*", "*"):
        return f"every {minute[2:]} minutes"
    if minute.isdigit() and month == "*" and weekday == "*" and day == "*":
        past = f", at {int(minute)} minutes past" if int(minute) else ""
        if hour == "*":
            return f"every hour{past}"
        if hour.startswith("*/") and hour[2:].isdigit():
            return f"every {hour[2:]} hours{past}"
    if not (minute.isdigit() and _SOME.fullmatch(hour) and month == "*"):
        return f'on the cron schedule "{cron}" (minute hour day month weekday)'
    times = _and([f"{int(h):02d}:{int(minute):02d}" for h in hour.split(",")])
    at = f"at {times} {zone}"
    if day == "*":
        days = _weekdays(weekday)
        if days is not None:
            return f"{days} {at}"
    elif _SOME.fullmatch(day) and weekday == "*":
        return f"on day {_and(day.split(','))} of every month {at}"
    return f'on the cron schedule "{cron}" (minute hour day month weekday)'


def _weekdays(field: str) -> str | None:
    if field == "*":
        return "every day"
    if field.lower() in ("1-5", "mon-fri"):
        return "every weekday"
    numbers = []
    for part in field.lower().split(","):
        number = _DAY_NAMES.get(part, int(part) if part.isdigit() else None)
        if number is None or number > 7:
            return None
        numbers.append(number % 7)
    if sorted(set(numbers)) == [0, 6]:
        return "every Saturday and Sunday"
    return "every " + _and([_DAYS[n] for n in sorted(set(numbers), key=lambda n: (n + 6) % 7)])


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
