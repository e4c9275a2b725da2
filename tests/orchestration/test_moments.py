"""One date and time format on every page and email: the ``when`` filter."""

from __future__ import annotations

import datetime

from django.template import Context, Template
from django.utils import timezone

from orchestration.templatetags.moments import ago, lasted, when

MOMENT = datetime.datetime(2026, 12, 2, 14, 5, tzinfo=datetime.UTC)


def test_a_moment_reads_day_month_year_time_and_time_zone() -> None:
    assert when(MOMENT) == "2 Dec 2026, 14:05 UTC"


def test_a_moment_is_written_in_the_readers_time_zone() -> None:
    with timezone.override("Europe/Paris"):
        assert when(MOMENT) == "2 Dec 2026, 15:05 CET"


def test_a_date_alone_has_no_time_and_nothing_reads_empty() -> None:
    assert when(datetime.date(2026, 12, 8)) == "8 Dec 2026"
    assert when(None) == ""


def test_every_template_has_the_filter_built_in() -> None:
    assert Template("{{ due|when }}").render(Context({"due": MOMENT})) == "2 Dec 2026, 14:05 UTC"


def test_a_zone_known_only_by_its_offset_is_named_from_utc() -> None:
    with timezone.override("America/Sao_Paulo"):
        assert when(MOMENT) == "2 Dec 2026, 11:05 UTC-03"


def test_how_long_ago_says_just_now_under_a_minute_and_counts_after() -> None:
    now = timezone.now()
    assert ago(now - datetime.timedelta(seconds=20)) == "just now"
    assert lasted(now - datetime.timedelta(seconds=20)) == "less than a minute"
    assert ago(now - datetime.timedelta(minutes=5, seconds=3)) == "5\xa0minutes ago"
    assert lasted(now - datetime.timedelta(hours=2, minutes=1)) == "2\xa0hours, 1\xa0minute"
    assert ago(None) == lasted("") == ""
