"""Working days and working hours in England, for decision deadlines and timeliness.

Working Together to Safeguard Children gives the front door one *working* day to decide on a
contact, so a deadline must skip weekends and the England and Wales bank holidays. The bank
holidays come from the maintained ``holidays`` package (substitute days included, such as Boxing
Day observed on Monday 28 December 2026), never from a hand-typed list that goes stale.

All arithmetic happens in Europe/London wall-clock time, because that is the day the front door
works to; results are aware datetimes in UTC, which is what the store keeps.

A contact received on a weekend or bank holiday is treated as received at the start of the next
working day (09:00), so it is due at 09:00 on the working day after that. This gives it one full
working day (eight working hours), the same as a contact received on Friday at 16:00 and due on
Monday at 16:00 gets (one hour on Friday, seven on Monday).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
WORKDAY_START = time(9, 0)
WORKDAY_END = time(17, 0)
_WHOLE_DAY_HOURS = (WORKDAY_END.hour - WORKDAY_START.hour) + (WORKDAY_END.minute - WORKDAY_START.minute) / 60


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    """England and Wales bank holidays for one year, cached: the package builds them on demand."""
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: date) -> bool:
    """Monday to Friday and not an England and Wales bank holiday."""
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def next_working_day(day: date) -> date:
    """The first working day strictly after ``day``."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def _to_london(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("a naive datetime has no offset; pass an aware datetime (the contract requires one)")
    return when.astimezone(LONDON)


def _at(day: date, wall: time) -> datetime:
    """``wall`` o'clock in London on ``day``, as aware UTC.

    Working days are never Sundays, when the clocks change, so the wall time always exists
    and is never ambiguous on the days this is called for.
    """
    return datetime.combine(day, wall, tzinfo=LONDON).astimezone(timezone.utc)


def add_working_days(when: datetime, days: int = 1) -> datetime:
    """The same London wall-clock time ``days`` working days after ``when``, in UTC.

    Friday 16:00 gives Monday 16:00; Thursday 24 December 2026 10:00 gives Tuesday 29 December
    10:00 (Christmas Day, the weekend and Boxing Day observed on the 28th are skipped). A
    ``when`` on a weekend or bank holiday counts from 09:00 on the next working day.
    """
    if days < 0:
        raise ValueError("days must be zero or more")
    local = _to_london(when)
    day, wall = local.date(), local.time()
    if not is_working_day(day):
        day, wall = next_working_day(day), WORKDAY_START
    for _ in range(days):
        day = next_working_day(day)
    return _at(day, wall)


def _hours_on(day: date, start: datetime, end: datetime) -> float:
    """Working hours on one day that fall between ``start`` and ``end`` (both aware)."""
    if not is_working_day(day):
        return 0.0
    opens, closes = _at(day, WORKDAY_START), _at(day, WORKDAY_END)
    overlap = min(closes, end) - max(opens, start)
    return max(overlap.total_seconds(), 0.0) / 3600


def working_hours_between(start: datetime, end: datetime) -> float:
    """Working hours (09:00 to 17:00 London time on working days) from ``start`` to ``end``.

    Used to measure timeliness the way a team manager would: a contact that arrived on Friday
    at 16:30 and was decided on Monday at 09:30 took one working hour, not 65 clock hours.
    Negative when ``end`` is before ``start``.
    """
    if end < start:
        return -working_hours_between(end, start)
    first, last = _to_london(start).date(), _to_london(end).date()
    total = _hours_on(first, start, end)
    if last == first:
        return total
    # A working day strictly between the two is whole: 09:00 to 17:00, never across a change of the
    # clocks (those fall on Sundays). They are counted from the calendar (weeks, then bank
    # holidays), so a span of months costs a few steps, not one built time per day.
    total += _WHOLE_DAY_HOURS * _working_days_between(first, last)
    return total + _hours_on(last, start, end)


def _working_days_between(first: date, last: date) -> int:
    """How many working days fall strictly after ``first`` and strictly before ``last``."""
    days = (last - first).days - 1
    if days <= 0:
        return 0
    weeks, rest = divmod(days, 7)
    count = 5 * weeks + sum(1 for i in range(rest) if (first + timedelta(days=1 + 7 * weeks + i)).weekday() < 5)
    for year in range(first.year, last.year + 1):
        count -= sum(1 for h in _bank_holidays(year) if first < h < last and h.weekday() < 5)
    return count


def last_working_day_start(now: datetime) -> datetime:
    """00:00 (London) on the working day before today: the daily police triage looks back to it.

    On a Monday that is Friday, so the weekend's contacts are in Monday's list; after a bank
    holiday it reaches back past the holiday.
    """
    day = london_date(now) - timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return london_midnight(day)


# The London calendar: days, months and "today" are London's; the store's times are UTC.


def london_date(when: datetime) -> date:
    """The London calendar day ``when`` falls on."""
    return when.astimezone(LONDON).date()


def london_today() -> date:
    return london_date(datetime.now(timezone.utc))


def london_midnight(day: date) -> datetime:
    """The start of a London day, as aware UTC (midnight always exists: the clocks change at 01:00)."""
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(timezone.utc)


def london_days(first: date, last: date) -> tuple[datetime, datetime]:
    """``[first 00:00, day after last 00:00)`` in London time, as UTC: both days included."""
    return london_midnight(first), london_midnight(last + timedelta(days=1))

