"""BPMN timer definitions: each form, its due moments, its repetitions, its words and its errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.test import override_settings

from orchestration.schedules import TimerError, TimerSpec, parse_timer

# A Friday at noon, UTC.
START = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def fire_all(spec: TimerSpec, start: datetime) -> list[datetime]:
    """Every moment it fires (upcoming walks first_due, then next_due with the count so far)."""
    return spec.upcoming(start, 50)


# --- durations and dates fire once


def test_a_duration_is_due_that_long_after_the_start_and_never_again():
    spec = parse_timer("duration", "PT4H30M")
    assert fire_all(spec, START) == [at(2, 16, 30)]
    assert spec.describe() == "after 4 hours 30 minutes"


def test_a_date_with_an_offset_is_due_at_that_moment_in_utc_once():
    spec = parse_timer("date", "2026-03-01T10:00:00+02:00")
    assert fire_all(spec, START) == [at(1, 8, month=3)]
    assert spec.describe() == "once, on 1 Mar 2026, 08:00 UTC"


def test_a_date_already_past_is_due_at_once_so_a_missed_deadline_still_fires():
    assert parse_timer("date", "2025-12-31T23:00:00Z").first_due(START) == datetime(
        2025, 12, 31, 23, tzinfo=UTC
    )


@override_settings(TIME_ZONE="Europe/Paris")
def test_a_date_without_an_offset_is_in_the_servers_time_zone():
    assert parse_timer("date", "2026-07-01T09:00:00").first_due(START) == at(1, 7, month=7)  # CEST is +02:00
    assert parse_timer("date", "2026-01-05T09:00").first_due(START) == at(5, 8)  # CET is +01:00


# --- cycles


def test_an_endless_cycle_counts_from_the_start():
    spec = parse_timer("cycle", "R/PT1H")
    assert spec.upcoming(START, 3) == [at(2, 13), at(2, 14), at(2, 15)]
    assert spec.next_due(at(9, 9), 5000) == at(9, 10)  # forever is forever
    assert spec.describe() == "every hour"


def test_a_cycle_of_n_fires_n_times_then_stops():
    spec = parse_timer("cycle", "R3/PT10M")
    assert fire_all(spec, START) == [at(2, 12, 10), at(2, 12, 20), at(2, 12, 30)]
    assert spec.next_due(at(2, 12, 30), 3) is None
    assert spec.describe() == "3 times, every 10 minutes"


def test_a_cycle_with_a_start_date_fires_from_that_date():
    spec = parse_timer("cycle", "R3/2026-01-05T09:00:00Z/P1D")
    assert fire_all(spec, START) == [at(5, 9), at(6, 9), at(7, 9)]
    assert spec.describe() == "3 times, every day from 5 Jan 2026, 09:00 UTC"


def test_a_start_date_already_past_skips_the_moments_before_the_start_and_they_count():
    spec = parse_timer("cycle", "R3/2026-01-01T09:00:00Z/P1D")  # 1, 2 and 3 Jan; the start is 2 Jan, noon
    assert fire_all(spec, START) == [at(3, 9)]
    assert parse_timer("cycle", "R3/2025-01-01T09:00:00Z/P1D").first_due(START) is None


def test_an_endless_cycle_from_a_date_keeps_its_rhythm():
    spec = parse_timer("cycle", "R/2026-01-01T09:00:00Z/PT2H")
    assert spec.upcoming(START, 3) == [at(2, 13), at(2, 15), at(2, 17)]
    assert spec.describe() == "every 2 hours from 1 Jan 2026, 09:00 UTC"


def test_a_day_is_24_hours_across_a_daylight_saving_change():
    # Paris moves its clocks forward on 29 Mar 2026: the cycle stays 24 hours apart in UTC.
    with override_settings(TIME_ZONE="Europe/Paris"):
        spec = parse_timer("cycle", "R3/2026-03-28T09:00:00/P1D")
    first = datetime(2026, 3, 28, 8, tzinfo=UTC)
    assert fire_all(spec, first) == [first, first + timedelta(days=1), first + timedelta(days=2)]


def test_once_cycles_say_once():
    assert parse_timer("cycle", "R1/PT1H").describe() == "once, after 1 hour"
    assert parse_timer("cycle", "R1/2026-01-05T09:00:00Z/P1D").describe() == "once, on 5 Jan 2026, 09:00 UTC"


def test_moments_are_returned_in_utc_whatever_offset_the_start_has():
    start = datetime(2026, 1, 2, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    due = parse_timer("cycle", "R/PT1H").first_due(start)
    assert due == at(2, 13) and due is not None and due.tzinfo == UTC


# --- cron


def test_cron_runs_in_the_servers_time_zone_and_never_ends():
    spec = parse_timer("cycle", "0 9 * * 1-5")
    assert spec.upcoming(START, 3) == [at(5, 9), at(6, 9), at(7, 9)]  # Friday noon: next is Monday
    assert spec.next_due(at(7, 9), 10_000) == at(8, 9)
    with override_settings(TIME_ZONE="Europe/Paris"):
        assert parse_timer("cycle", "0 9 * * 1-5").first_due(START) == at(5, 8)


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 9 * * 1-5", "every weekday at 09:00 UTC"),
        ("30 8,17 * * 1,3,5", "every Monday, Wednesday and Friday at 08:30 and 17:30 UTC"),
        ("0 10 * * 0,6", "every Saturday and Sunday at 10:00 UTC"),
        ("0 7 * * *", "every day at 07:00 UTC"),
        ("0 9 1 * *", "on day 1 of every month at 09:00 UTC"),
        ("*/15 * * * *", "every 15 minutes"),
        ("0 */2 * * *", "every 2 hours"),
        ("5 * * * *", "every hour, at 5 minutes past"),
        ("0 9 * 1 *", 'on the cron schedule "0 9 * 1 *" (minute hour day month weekday)'),
    ],
)
def test_cron_in_words(cron: str, words: str):
    assert parse_timer("cycle", cron).describe() == words


# --- a late ticker


def test_a_late_ticker_fires_once_for_the_moments_it_missed_and_they_count():
    spec = parse_timer("cycle", "R5/PT1H")
    # It fired at 13:00 (the first); the ticker was down until 15:30: 14:00 and 15:00 are skipped.
    assert spec.following(at(2, 13), 1, at(2, 15, 30)) == (at(2, 16), 3)
    assert spec.following(at(2, 13), 1, at(2, 18, 30)) == (None, 6)
    assert spec.following(at(2, 13), 1, at(2, 13, 0, 1)) == (at(2, 14), 1)  # on time: nothing skipped
    cron = parse_timer("cycle", "0 9 * * *")
    assert cron.following(at(2, 9), 1, at(5, 10)) == (at(6, 9), 1)


# --- what is refused, in plain words


@pytest.mark.parametrize(
    ("kind", "text", "why"),
    [
        ("cycle", "R/PT0S", '"R/PT0S" repeats every 0 seconds; the shortest cycle is 1 minute.'),
        ("cycle", "R/PT30S", '"R/PT30S" repeats every 30 seconds; the shortest cycle is 1 minute.'),
        ("cycle", "R0/PT1H", '"R0/PT1H" repeats 0 times: write R for ever, or R1 and more.'),
        (
            "cycle",
            "R/P1M",
            '"R/P1M" repeats by months or years, which have no fixed length: '
            "use cron for a day of each month, such as 0 9 1 * *.",
        ),
        (
            "cycle",
            "R/PT1H/2026-01-01T00:00:00Z",
            '"R/PT1H/2026-01-01T00:00:00Z" ends at a date: write R[n]/<first date and time>/<interval>, '
            "such as R3/2026-01-01T09:00:00Z/P1D.",
        ),
        ("cycle", "R/soon/PT1H", '"soon" is not an ISO 8601 date and time such as 2026-01-01T09:00:00Z.'),
        (
            "cycle",
            "R/PT1H/PT2H/P1D",
            '"R/PT1H/PT2H/P1D" is not a repeating cycle such as R/PT1H, '
            "R3/2026-01-01T09:00:00Z/P1D or a cron expression such as 0 9 * * 1-5.",
        ),
        (
            "cycle",
            "0 25 * * *",
            '"0 25 * * *" is not a valid cron expression (minute hour day month weekday).',
        ),
        (
            "cycle",
            "0 0 9 * * 1",
            '"0 0 9 * * 1" has 6 fields; cron here has 5: minute hour day month weekday.',
        ),
        ("cycle", "  ", "The timer's cycle is empty."),
        ("cycle", "0 9 30 2 *", '"0 9 30 2 *" never comes round: no month has that day.'),
        (
            "duration",
            "P1Y",
            '"P1Y" counts years or months, which have no fixed length: write days or weeks (P30D, P52W).',
        ),
        (
            "duration",
            "4 hours",
            '"4 hours" is not an ISO 8601 duration such as P2D, PT4H or P1W (no years or months).',
        ),
        (
            "duration",
            "P9999999999D",
            '"P9999999999D" is not an ISO 8601 duration such as P2D, PT4H or P1W (no years or months).',
        ),
        ("duration", "P6000W", '"P6000W" is longer than 100 years.'),
        (
            "date",
            "next Monday",
            '"next Monday" is not an ISO 8601 date and time such as 2026-01-01T09:00:00Z.',
        ),
        (
            "date",
            "0001-01-01T00:00:00+05:00",
            '"0001-01-01T00:00:00+05:00" is outside the calendar Baton can keep (years 1 to 9999, UTC).',
        ),
        ("sometime", "PT1H", '"sometime" is not a kind of timer: use duration, date or cycle.'),
    ],
)
def test_what_cannot_run_is_refused_saying_why(kind: str, text: str, why: str):
    with pytest.raises(TimerError) as raised:
        parse_timer(kind, text)
    assert str(raised.value) == why


def test_a_spec_is_frozen_and_keeps_its_text():
    spec = parse_timer("cycle", " R/PT1H ")
    assert spec.text == "R/PT1H"
    with pytest.raises(AttributeError):
        spec.text = "R/PT2H"  # type: ignore[misc]
