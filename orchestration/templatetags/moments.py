"""How pages and emails write a moment: ``{{ task.due_at|when }}`` → ``2 Dec 2026, 14:05 UTC``.

Built in to every template (settings ``TEMPLATES`` → ``builtins``). One format everywhere: the
active locale's ``DATETIME_FORMAT`` (``orchestration/formats``) in the active time zone, named;
a date alone is the locale's ``DATE_FORMAT``. Python code writing sentences uses :func:`when` too.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timesince import timesince

register = template.Library()

_UNDER_A_MINUTE = "less than a minute"


@register.filter
def when(value: Any) -> str:
    """A datetime in the reader's time zone with its name, or a date; "" for nothing."""
    if isinstance(value, datetime.datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return f"{date_format(local, 'DATETIME_FORMAT')} {_zone_label(local)}".strip()
    if isinstance(value, datetime.date):
        return date_format(value, "DATE_FORMAT")
    return ""


def _zone_label(local: datetime.datetime) -> str:
    """The zone's short name ("JST", "CET"); where it has only an offset ("-03"), "UTC-03"."""
    name = local.tzname() or ""
    return f"UTC{name}" if name[:1] in "+-" and name else name


@register.filter
def ago(value: Any) -> str:
    """How long ago ``value`` was, in words: "just now" under a minute, else "5 minutes ago"."""
    if not isinstance(value, datetime.datetime):
        return ""
    span = lasted(value)
    return "just now" if span == _UNDER_A_MINUTE else f"{span} ago"


@register.filter
def lasted(value: Any) -> str:
    """How long since ``value``, in words: "less than a minute", "5 minutes", "2 days, 3 hours"."""
    if not isinstance(value, datetime.datetime):
        return ""
    if timezone.now() - value < datetime.timedelta(minutes=1):
        return _UNDER_A_MINUTE
    return timesince(value)
