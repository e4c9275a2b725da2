"""Baton's one way to write dates and times in English: ``2 Dec 2026, 14:05`` and ``2 Dec 2026``.

Pages and emails write them through the ``when`` filter (orchestration.templatetags.moments),
which adds the time zone.
"""

DATETIME_FORMAT = "j M Y, H:i"
DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
SHORT_DATE_FORMAT = DATE_FORMAT
