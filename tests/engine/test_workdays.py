"""Working days and hours in England: decision deadlines and timeliness."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.engine.workdays import (
    LONDON,
    add_working_days,
    is_working_day,
    london_date,
    london_days,
    london_midnight,
    next_working_day,
    working_hours_between,
)

UTC = timezone.utc


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def test_friday_afternoon_is_due_on_monday_afternoon():
    assert add_working_days(london(2026, 11, 20, 16, 0)) == london(2026, 11, 23, 16, 0)


def test_christmas_eve_is_due_after_christmas_and_boxing_day_observed():
    due = add_working_days(london(2026, 12, 24, 10, 0))
    assert due == london(2026, 12, 29, 10, 0)
    assert due.tzinfo is UTC


def test_result_is_utc():
    due = add_working_days(london(2026, 11, 18, 10, 0))
    assert due.utcoffset() == timedelta(0)
    assert due == datetime(2026, 11, 19, 10, 0, tzinfo=UTC)


def test_easter_thursday_is_due_on_tuesday():
    # 2026: Good Friday 3 April, Easter Monday 6 April.
    assert add_working_days(london(2026, 4, 2, 15, 30)) == london(2026, 4, 7, 15, 30)


def test_received_on_good_friday_counts_from_tuesday_morning():
    assert add_working_days(london(2026, 4, 3, 11, 0)) == london(2026, 4, 8, 9, 0)


def test_received_on_saturday_counts_from_monday_morning():
    assert add_working_days(london(2026, 11, 21, 11, 0)) == london(2026, 11, 24, 9, 0)


def test_london_wall_clock_is_kept_across_the_clock_change():
    # Clocks go forward on Sunday 29 March 2026: 16:00 stays 16:00 in London, one hour less in UTC.
    due = add_working_days(london(2026, 3, 27, 16, 0))
    assert due == london(2026, 3, 30, 16, 0)
    assert due == datetime(2026, 3, 30, 15, 0, tzinfo=UTC)


def test_an_offset_other_than_london_is_converted_first():
    # 23:30 on Friday in New York is 04:30 on Saturday in London: a weekend receipt.
    new_york = timezone(timedelta(hours=-5))
    assert add_working_days(datetime(2026, 11, 20, 23, 30, tzinfo=new_york)) == london(2026, 11, 24, 9, 0)


def test_several_working_days_and_zero():
    assert add_working_days(london(2026, 12, 23, 12, 0), 3) == london(2026, 12, 30, 12, 0)
    assert add_working_days(london(2026, 11, 18, 12, 0), 0) == london(2026, 11, 18, 12, 0)


def test_naive_datetimes_and_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(datetime(2026, 11, 18, 12, 0))
    with pytest.raises(ValueError):
        add_working_days(london(2026, 11, 18, 12, 0), -1)


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 12, 25), False), (date(2026, 12, 28), False), (date(2026, 12, 29), True),
    (date(2026, 4, 3), False), (date(2026, 4, 6), False), (date(2026, 5, 4), False),
    (date(2026, 8, 31), False), (date(2026, 11, 21), False), (date(2026, 11, 23), True),
    (date(2027, 12, 27), False), (date(2027, 12, 28), False),
])
def test_bank_holidays_and_weekends(day, working):
    assert is_working_day(day) is working


def test_next_working_day_skips_the_christmas_break():
    assert next_working_day(date(2026, 12, 24)) == date(2026, 12, 29)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)))
def test_deadline_is_always_later_on_a_working_day(received):
    due = add_working_days(received)
    assert due > received
    assert is_working_day(due.astimezone(LONDON).date())
    assert due - received <= timedelta(days=7)  # the longest break (Christmas) is well within a week


# -- working hours ------------------------------------------------------------------------------


def test_friday_evening_to_monday_morning_is_one_working_hour():
    assert working_hours_between(london(2026, 11, 20, 16, 30), london(2026, 11, 23, 9, 30)) == 1.0


def test_hours_within_one_day_and_outside_the_working_day():
    assert working_hours_between(london(2026, 11, 18, 10, 0), london(2026, 11, 18, 12, 30)) == 2.5
    assert working_hours_between(london(2026, 11, 18, 6, 0), london(2026, 11, 18, 8, 0)) == 0.0
    assert working_hours_between(london(2026, 11, 18, 18, 0), london(2026, 11, 19, 9, 0)) == 0.0
    assert working_hours_between(london(2026, 11, 18, 7, 0), london(2026, 11, 18, 20, 0)) == 8.0


def test_a_deadline_is_one_working_day_of_hours():
    received = london(2026, 11, 20, 16, 0)
    assert working_hours_between(received, add_working_days(received)) == 8.0
    saturday = london(2026, 11, 21, 11, 0)
    assert working_hours_between(saturday, add_working_days(saturday)) == 8.0


def test_hours_across_easter_skip_both_bank_holidays():
    # Thursday 2 April 2026 09:00 to Tuesday 7 April 17:00: Thursday and Tuesday only.
    assert working_hours_between(london(2026, 4, 2, 9, 0), london(2026, 4, 7, 17, 0)) == 16.0


def test_hours_across_christmas():
    # Wed 23 Dec 2026 09:00 to Wed 30 Dec 17:00: 23, 24, 29 and 30 December.
    assert working_hours_between(london(2026, 12, 23, 9, 0), london(2026, 12, 30, 17, 0)) == 32.0


def test_hours_are_negative_when_the_end_is_first():
    assert working_hours_between(london(2026, 11, 18, 12, 0), london(2026, 11, 18, 10, 0)) == -2.0


def test_hours_across_the_clock_change_count_wall_clock_hours():
    assert working_hours_between(london(2026, 3, 27, 9, 0), london(2026, 3, 30, 17, 0)) == 16.0


def test_the_london_day_follows_the_clocks():
    summer = datetime(2026, 7, 1, 23, 30, tzinfo=timezone.utc)  # 00:30 on 2 July in London
    assert london_date(summer) == date(2026, 7, 2)
    start, end = london_days(london_date(summer), london_date(summer))
    assert start == datetime(2026, 7, 1, 23, 0, tzinfo=timezone.utc)
    assert end == datetime(2026, 7, 2, 23, 0, tzinfo=timezone.utc)
    winter = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    assert london_days(london_date(winter), london_date(winter)) == (
        datetime(2026, 11, 23, tzinfo=timezone.utc), datetime(2026, 11, 24, tzinfo=timezone.utc))


def test_a_range_of_london_days_includes_both_ends_across_the_clock_change():
    start, end = london_days(date(2026, 10, 24), date(2026, 10, 25))  # BST ends on the 25th
    assert start == london_midnight(date(2026, 10, 24)) == datetime(2026, 10, 23, 23, 0, tzinfo=timezone.utc)
    assert end == datetime(2026, 10, 26, 0, 0, tzinfo=timezone.utc)
    assert (end - start).total_seconds() == 49 * 3600


def test_working_hours_between_is_the_day_by_day_sum():
    """Whole days in between are counted from the calendar, not walked; the hours are the walk's."""
    import random

    from triage.engine import workdays

    def walked(start, end):
        first, last = workdays._to_london(start).date(), workdays._to_london(end).date()
        total, day = 0.0, first
        while day <= last:
            total += workdays._hours_on(day, start, end)
            day += timedelta(days=1)
        return total

    rng = random.Random(19)
    base = datetime(2025, 12, 1, tzinfo=timezone.utc)  # over Christmas, Easter, both changes of the clocks
    for _ in range(2000):
        start = base + timedelta(minutes=rng.randrange(0, 400 * 24 * 60))
        end = start + timedelta(minutes=rng.choice([rng.randrange(0, 600), rng.randrange(0, 3 * 24 * 60),
                                                    rng.randrange(0, 400 * 24 * 60)]))
        assert workdays.working_hours_between(start, end) == pytest.approx(walked(start, end), abs=1e-9), (start, end)
        assert workdays.working_hours_between(end, start) == pytest.approx(-walked(start, end), abs=1e-9)
