"""ISO 8601 durations as Baton accepts them: one parser for the compiler, the panels and the runtime."""

from __future__ import annotations

import math
import re
from datetime import timedelta

# Weeks, days, hours, minutes, seconds. Years and months have no fixed length, so they are refused.
_DURATION = re.compile(
    r"P(?=\d|T\d)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)


# Years or months written where a duration is expected: named in the error instead of "not a duration".
_CALENDAR = re.compile(r"P(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T.*)?")


def parse_duration(text: str) -> timedelta | None:
    """``P2D`` -> 2 days, ``PT4H30M``, ``P1W``, ``PT0.5S``; ``None`` for anything else."""
    match = _DURATION.fullmatch(text.strip()) if text else None
    if match is None:
        return None
    parts = {name: float(value) for name, value in match.groupdict().items() if value}
    try:
        return timedelta(**parts)
    except OverflowError:  # more days than Python's calendar holds: no duration anybody means
        return None


def duration_problem(text: str) -> str:
    """Why ``text`` is not a duration Baton accepts, in plain words (call when parse_duration said None)."""
    text = text.strip()
    if _CALENDAR.fullmatch(text) and re.search(r"\d+[YM]", text.split("T")[0]):
        return (
            f'"{text}" counts years or months, which have no fixed length: write days or weeks (P30D, P52W).'
        )
    return f'"{text}" is not an ISO 8601 duration such as P2D, PT4H or P1W (no years or months).'


def duration_words(delta: timedelta) -> str:
    """``2 hours``, ``1 day``, ``90 minutes``, ``4 hours 30 minutes``: one unit when a short count says it."""
    seconds = int(delta.total_seconds())
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds and seconds % size == 0:
            if seconds // size <= 120:
                return _count(seconds // size, unit)
            break
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size:
            parts.append(_count(seconds // size, unit))
            seconds %= size
    return " ".join(parts) or f"{delta.total_seconds():g} seconds"


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


# A duration as a number and a unit, the way the side panel asks for it: (unit, word, seconds).
UNITS: tuple[tuple[str, str, int], ...] = (
    ("minutes", "minutes", 60),
    ("hours", "hours", 3600),
    ("days", "days", 86400),
    ("weeks", "weeks", 604800),
)
_ISO_UNIT = {"minutes": ("PT", "M"), "hours": ("PT", "H"), "days": ("P", "D"), "weeks": ("P", "W")}


def duration_to_iso(count: int, unit: str) -> str:
    """``(3, "days")`` -> ``P3D``: what the side panel's number and unit write into the diagram."""
    prefix, suffix = _ISO_UNIT[unit]
    return f"{prefix}{count}{suffix}"


def iso_to_duration(text: str | None) -> tuple[int | None, str]:
    """(count, unit) for an ISO duration, in the largest unit that divides it; (None, "days") if none."""
    delta = parse_duration(text or "")
    if delta is None or delta.total_seconds() <= 0:
        return None, "days"
    seconds = math.ceil(delta.total_seconds() / 60) * 60
    for unit, _, size in reversed(UNITS):
        if seconds % size == 0:
            return seconds // size, unit
    return seconds // 60, "minutes"
