def test_as_utc_converts_far_offsets_and_refuses_moments_before_the_first_year() -> None:
    import datetime

    from orchestration.values import as_utc

    behind = datetime.datetime(
        1730, 4, 21, 20, 5, tzinfo=datetime.timezone(-datetime.timedelta(hours=21, minutes=44))
    )
    first = datetime.datetime(1, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=5)))

    assert as_utc(behind) == datetime.datetime(1730, 4, 22, 17, 49, tzinfo=datetime.UTC)
    assert as_utc(first) is None
