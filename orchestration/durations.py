"""ISO 8601 durations as Baton accepts them, one parser for the compiler and the runtime."""

from __future__ import annotations

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
