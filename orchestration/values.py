"""How Baton reads typed values written as text: one rule each, for the compiler, the panels and start data.

A diagram stores every setting as text (a form field's default, ``required="yes"``,
a schedule), and people type the same things into start forms. Each reader here
returns ``None`` for text it does not accept, so every caller words its own error.
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

from croniter import croniter

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})

_INTEGER = re.compile(r"-?\d+")


def parse_flag(text: str) -> bool | None:
    """``yes``/``true``/``1``/``on`` -> True, ``no``/``false``/``0``/``off`` -> False, else None."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def parse_number(text: str) -> float | None:
    """A finite number (``12``, ``-0.5``, ``1e3``); NaN, infinities and ``1e400`` are no amount."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def parse_integer(text: str) -> int | None:
    """A whole number written with digits (and a leading minus)."""
    text = text.strip()
    return int(text) if _INTEGER.fullmatch(text) else None


def parse_date(text: str) -> str | None:
    """An ISO 8601 calendar date (``2026-12-31``), returned in that form."""
    try:
        return datetime.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return None


def is_timestamp(text: str) -> bool:
    """Whether ``text`` is an ISO 8601 date-time (a Wait until … block's date)."""
    try:
        datetime.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def as_utc(moment: datetime.datetime) -> datetime.datetime | None:
    """An aware date-time in UTC, or None when it has no place in the calendar there.

    Python accepts offsets up to ±23:59 and PostgreSQL only up to ±15:59, and
    ``0001-01-01T00:00+05:00`` is a year before the first in UTC: converting first
    keeps both from reaching the database.
    """
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:
        return None


def is_cron(text: str) -> bool:
    """A cron expression with five fields: minute hour day month weekday."""
    return len(text.split()) == 5 and bool(croniter.is_valid(text))


def field_default(raw: str, field_type: str, choices: list[str]) -> Any | None:
    """A form field's default converted to its type, or None when it is not a valid value of it."""
    raw = raw.strip()
    match field_type:
        case "number":
            return parse_number(raw)
        case "money":
            # Its minor units depend on the currency chosen with it: checked when the form is sent.
            return raw if parse_number(raw) is not None else None
        case "integer":
            return parse_integer(raw)
        case "boolean":
            return parse_flag(raw)
        case "choice":
            return raw if raw in choices else None
        case "date":
            return parse_date(raw)
    return raw
