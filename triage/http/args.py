"""Query arguments the JSON API and the pages both read: days, date ranges and months.

One parser for both edges, so a page and the API accept the same text and refuse it with the
same words. A bad value raises a 422 ``Problem`` whose ``errors`` name the argument: the API
answers it as a problem document, a page shows it as an error summary linking to the field.
Days and months are London's.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import request

from triage.engine.workdays import london_today
from triage.http.problems import Problem
from triage.reporting.reports import parse_month

INVALID_QUERY = "Some query parameters are not valid; see errors."


def _invalid(name: str, message: str, detail: str = INVALID_QUERY) -> Problem:
    return Problem(422, detail, title="Invalid query", errors={name: [message]})


def date_arg(name: str) -> date | None:
    """The argument as a day, None when absent or empty; 422 when it is not YYYY-MM-DD."""
    value = request.args.get(name)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _invalid(name, "Must be a date written YYYY-MM-DD, for example 2026-11-20.") from None


def date_range(default_days: int) -> tuple[date, date]:
    """``from`` and ``to`` as London days, both included; ``to`` defaults to today."""
    last = date_arg("to") or london_today()
    first = date_arg("from") or last - timedelta(days=default_days - 1)
    if first > last:
        raise _invalid("from", "Must be on or before 'to'.", "The date range is empty: 'from' is after 'to'.")
    return first, last


def month_arg() -> date:
    """``month`` (YYYY-MM) as its first day; this month when absent."""
    value = request.args.get("month")
    if not value:
        return london_today().replace(day=1)
    try:
        return parse_month(value)
    except ValueError as exc:
        raise _invalid("month", f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None
