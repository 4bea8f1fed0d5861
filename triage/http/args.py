"""Query arguments the JSON API and the pages both read: days, date ranges, months and page links.

One parser for both edges, so a page and the API accept the same text and refuse it with the
same words. A bad value raises a 422 ``Problem`` whose ``errors`` name the argument: the API
answers it as a problem document, a page shows it as an error summary linking to the field.
Days and months are London's.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import request

from triage.engine.workdays import london_today
from triage.http.problems import Problem
from triage.record.paging import BAD_CURSOR, DEFAULT_PER_PAGE, MAX_PER_PAGE
from triage.reporting.reports import parse_month

INVALID_QUERY = "Some query parameters are not valid; see errors."
#: The longest range a dashboard or Annex A list covers: a year, both ends included (a leap year's
#: 366 days). Longer ranges are refused, not built: one request for centuries of days once held a
#: worker for 41 s and 3 GB. The training export passes its own (ten years).
MAX_RANGE_DAYS = 366
#: Days outside these are typing mistakes, and far-off years overflow date arithmetic.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def _invalid(name: str, message: str, detail: str = INVALID_QUERY) -> Problem:
    return Problem(422, detail, title="Invalid query", errors={name: [message]})


def _day_error(value: str) -> tuple[date | None, str | None]:
    """The day written in ``value``, or why it is not one this service reports on."""
    try:
        if not _DAY.fullmatch(value):  # fromisoformat would also take 20261120 and 2026-W47-5
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        return None, "Must be a date written YYYY-MM-DD, for example 2026-11-20."
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        return None, f"Must be a day from {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}."
    return day, None


def only_args(*names: str) -> None:
    """422 naming any query parameter not in ``names``: a misspelt filter is refused, not ignored."""
    unknown = sorted(set(request.args) - set(names))
    if unknown:
        raise Problem(422, INVALID_QUERY, title="Invalid query",
                      errors={name: [f"Not a parameter here; use {', '.join(names) or 'none'}."] for name in unknown})


def date_arg(name: str) -> date | None:
    """The argument as a day, None when absent or empty; 422 when it is not YYYY-MM-DD (2000-2099)."""
    value = request.args.get(name)
    if value in (None, ""):
        return None
    day, error = _day_error(value)
    if error:
        raise _invalid(name, error)
    return day


def date_range(default_days: int, max_days: int = MAX_RANGE_DAYS) -> tuple[date, date]:
    """``from`` and ``to`` as London days, both included; ``to`` defaults to today.

    Both ends are checked (and both named when both are wrong), and a range longer than
    ``max_days`` is refused rather than built.
    """
    days, errors = {}, {}
    for name in ("from", "to"):
        value = request.args.get(name)
        if value not in (None, ""):
            days[name], error = _day_error(value)
            if error:
                errors[name] = [error]
    if errors:
        raise Problem(422, INVALID_QUERY, title="Invalid query", errors=errors)
    last = days.get("to") or london_today()
    first = days.get("from") or last - timedelta(days=default_days - 1)
    if first > last:
        raise _invalid("from", "Must be on or before 'to'.", "The date range is empty: 'from' is after 'to'.")
    if (last - first).days + 1 > max_days:
        raise _invalid("from", f"Must be no more than {max_days} days before 'to' (the range covers at most "
                               f"{max_days} days, both included).",
                       f"The date range is too long: at most {max_days} days.")
    return first, last


def choice_arg(name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first when absent or empty); 422 naming the argument otherwise."""
    value = request.args.get(name) or choices[0]
    if value not in choices:
        raise _invalid(name, f"Must be one of: {', '.join(choices)}.")
    return value


def month_arg() -> date:
    """``month`` (YYYY-MM) as its first day; this month when absent."""
    value = request.args.get("month")
    if not value:
        return london_today().replace(day=1)
    try:
        if not _MONTH.fullmatch(value):  # ASCII digits only (str.isdigit would take other scripts')
            raise ValueError(value)
        month = parse_month(value)
    except ValueError:  # a malformed text or an impossible month ("2026-13") alike
        raise _invalid("month", "Enter a month written YYYY-MM, for example 2026-11.") from None
    if not EARLIEST_DAY <= month <= LATEST_DAY:
        raise _invalid("month", f"Must be a month from {EARLIEST_DAY:%Y-%m} to {LATEST_DAY:%Y-%m}.")
    return month


#: The longest cursor a page link carries (a few sort keys, base64): anything longer was not ours.
MAX_CURSOR = 1000


def page_args(default_per_page: int = DEFAULT_PER_PAGE) -> tuple[str | None, int]:
    """``cursor`` (the opaque page link a list answered with) and ``per_page`` (1 to 200) for a queue."""
    cursor = request.args.get("cursor") or None
    if cursor is not None and len(cursor) > MAX_CURSOR:
        raise _invalid("cursor", BAD_CURSOR)
    value = request.args.get("per_page")
    if value in (None, ""):
        return cursor, default_per_page
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_PER_PAGE:
        raise _invalid("per_page", f"Enter a page size (per_page) from 1 to {MAX_PER_PAGE}.")
    return cursor, int(value)
