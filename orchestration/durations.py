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


def parse_duration(text: str) -> timedelta | None:
    """``P2D`` -> 2 days, ``PT4H30M``, ``P1W``, ``PT0.5S``; ``None`` for anything else."""
    match = _DURATION.fullmatch(text.strip()) if text else None
    if match is None:
        return None
    parts = {name: float(value) for name, value in match.groupdict().items() if value}
    return timedelta(**parts)


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
