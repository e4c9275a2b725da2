"""BPMN timer definitions: a duration, a date, or a repeating cycle (placeholder until the full module lands)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orchestration.durations import parse_duration

_CYCLE = re.compile(r"R(?P<times>\d*)/(?:(?P<start>[^/]+)/)?(?P<every>P[^/]+)")


@dataclass(frozen=True)
class TimerSpec:
    """When a timer fires: once after ``delay`` or at ``at``, or every ``every`` (``times`` at most)."""

    delay: timedelta | None = None
    at: datetime | None = None
    every: timedelta | None = None
    start: datetime | None = None
    times: int | None = None

    def first_due(self, start: datetime) -> datetime | None:
        """The first moment it fires for something starting at ``start``."""
        if self.delay is not None:
            return start + self.delay
        if self.at is not None:
            return self.at
        assert self.every is not None
        return self.start if self.start is not None and self.start > start else start + self.every

    def next_due(self, previous_due: datetime, fired: int) -> datetime | None:
        """The moment after ``previous_due``, once it has fired ``fired`` times (None: no more)."""
        if self.every is None or (self.times is not None and fired >= self.times):
            return None
        return previous_due + self.every


def _moment(text: str) -> datetime | None:
    try:
        moment = parse_datetime(text.strip())
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


def parse_timer(kind: str, text: str) -> TimerSpec | str:
    """A timer of ``kind`` ("duration", "date", "cycle") from its BPMN text, or what is wrong with it."""
    text = (text or "").strip()
    if kind == "duration":
        delay = parse_duration(text)
        if delay is None or delay.total_seconds() <= 0:
            return f'"{text}" is not an ISO 8601 duration such as P2D, PT4H or P1W.'
        return TimerSpec(delay=delay)
    if kind == "date":
        at = _moment(text)
        return (
            TimerSpec(at=at)
            if at is not None
            else f'"{text}" is not a date and time such as 2026-01-31T09:00:00Z.'
        )
    match = _CYCLE.fullmatch(text)
    every = parse_duration(match["every"]) if match else None
    start = _moment(match["start"]) if match and match["start"] else None
    if match is None or every is None or every.total_seconds() <= 0 or (match["start"] and start is None):
        return f'"{text}" is not a repeating cycle such as R/PT1H (every hour) or R3/P1D (3 times, daily).'
    return TimerSpec(every=every, start=start, times=int(match["times"]) if match["times"] else None)
