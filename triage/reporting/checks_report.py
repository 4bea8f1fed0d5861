"""Screening and multi-agency checks in figures (issue 13 item 7), for the dashboard and the partner report.

For contacts accepted in a window (optionally one partner's):

* how many were settled at screening (decided with no check asked) and how many were sent to checks;
* for each agency asked: checks asked, answered on time, answered late, not answered;
* time from the front door's clock (``accepted_at``) to the first decision, in working hours, the
  median with and without checks;
* how often the checks changed the recommended level (up or down), comparing the screening
  recommendation with the one made again on what the checks found.

Every count is a SQL aggregate (``count``, ``sum(case ...)``, ``group by``), so the figures cost
the same whatever the number of contacts, on SQLite and PostgreSQL alike. Working hours follow
the England and Wales calendar, which SQL does not know: they are kept on each contact when its
first decision is made (``contacts.first_decision_hours``), and the database picks the medians.

Small numbers: a share is given only when at least ``MIN_FOR_SHARE`` contacts are behind it; the
counts are always given, so a reader never sees "50%" of two contacts without knowing it is two.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select

from triage.engine.guidance_config import CHECK_AGENCIES
from triage.engine.workdays import london_date, london_days
from triage.extensions import db
from triage.record.tables import CheckRequest, CheckResponse, Contact

#: The fewest contacts a share is computed from; below it only the counts are shown.
MIN_FOR_SHARE = 10


def share(part: int, whole: int) -> float | None:
    """``part / whole`` rounded for reading, or None below ``MIN_FOR_SHARE`` (the counts say it)."""
    return round(part / whole, 4) if whole >= MIN_FOR_SHARE else None


def _in_window(start: datetime, end: datetime, organisation_id: int | None):
    """Contacts accepted in ``[start, end)``; on ``accepted_day`` when the bounds are London midnights.

    The dashboard's window is whole London days: on ``accepted_day`` the counts read the
    dashboard's index (``ix_contacts_dashboard``) instead of the contacts' rows. A partner's month
    keeps ``accepted_at`` (its organisation is not in that index).
    """
    first, last = london_date(start), london_date(end) - timedelta(days=1)
    if organisation_id is None and first <= last and london_days(first, last) == (start, end):
        return and_(Contact.accepted_day >= first, Contact.accepted_day <= last)
    clauses = [Contact.accepted_at >= start, Contact.accepted_at < end]
    if organisation_id is not None:
        clauses.append(Contact.organisation_id == organisation_id)
    return and_(*clauses)


def _median(query, count: int) -> float | None:
    """The median of ``query``'s one sorted column of ``count`` values, picked by the database.

    The middle one, or the mean of the middle two, rounded to a tenth; None when there are none.
    """
    if not count:
        return None
    middle = db.session.scalars(query.offset((count - 1) // 2).limit(2 - count % 2)).all()
    return round(statistics.median(middle), 1)


def checks_figures(start: datetime, end: datetime, *, organisation_id: int | None = None,
                   counted: tuple[int, int] | None = None, decided_middle: list[float] | None = None) -> dict:
    """The figures for contacts accepted in ``[start, end)`` (one partner's when ``organisation_id``).

    Why counted this way: asking "has this contact any check?" of every contact in a year (an
    ``EXISTS`` per contact, four times over) was the dashboard's largest cost. Contacts sent to
    checks are few, so they are read from ``check_requests`` (one row per contact, joined to the
    window); every other figure is the window's count less theirs. A contact is decided once its
    first decision is kept on it (``first_decided_at``, services/decisions.py), as the medians
    already read it.

    The dashboard has already counted its window: it passes ``counted`` (contacts, decided: its
    ``contacts`` and ``made``) and the middle one or two of its decided contacts' working hours
    (``decided_middle``), which are the median without checks when none of them was sent to checks.
    """
    window = _in_window(start, end, organisation_id)
    decided_ = Contact.first_decided_at.is_not(None)
    checked = select(CheckRequest.contact_id.label("contact_id")).distinct().subquery()
    with_checks = select(Contact).join(checked, checked.c.contact_id == Contact.id).where(window)
    contacts, decided = counted or db.session.execute(
        select(func.count(), _sum(decided_)).select_from(Contact).where(window)).one()

    # the level before and after checks: the screening recommendation kept beside the one made again
    before = Contact.screening_recommendation["level"].as_integer()
    after_level = Contact.recommended_level
    rescored = Contact.screening_recommendation.is_not(None)
    sent, decided_checked, rescored_n, raised, lowered = db.session.execute(
        with_checks.with_only_columns(func.count(), _sum(decided_), _sum(rescored),
                                      _sum(and_(rescored, after_level > before)),
                                      _sum(and_(rescored, after_level < before)))).one()

    contacts, sent, decided, settled = int(contacts), int(sent), int(decided), int(decided) - int(decided_checked)
    rescored_n, raised, lowered = int(rescored_n), int(raised), int(lowered)
    hours = Contact.first_decision_hours
    median_with = _median(with_checks.with_only_columns(hours).where(decided_).order_by(hours), decided - settled)
    if decided_middle is not None and settled == decided:  # none decided was sent to checks: all of them
        median_without = round(statistics.median(decided_middle), 1) if decided_middle else None
    else:
        median_without = _median(select(hours).where(window, decided_, Contact.id.not_in(select(CheckRequest.contact_id)))
                                 .order_by(hours), settled)
    return {
        "min_for_share": MIN_FOR_SHARE,
        "contacts": contacts,
        "decided": decided,
        "settled_at_screening": settled,
        "settled_at_screening_share": share(settled, decided),
        "sent_to_checks": sent,
        "sent_to_checks_share": share(sent, contacts),
        "agencies": _agencies(window, start),
        "time_to_decision": {
            "with_checks": {"decided": decided - settled, "median_working_hours": median_with},
            "without_checks": {"decided": settled, "median_working_hours": median_without},
        },
        "level_changed": {
            "rescored": rescored_n, "raised": raised, "lowered": lowered, "unchanged": rescored_n - raised - lowered,
            "changed_share": share(raised + lowered, rescored_n),
        },
    }


def _sum(condition):
    """``SUM(CASE WHEN condition THEN 1 ELSE 0 END)``, 0 (never NULL) over no rows."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _agencies(window, start: datetime) -> list[dict]:
    """For each agency: checks asked about the window's contacts, answered on time, late, not at all.

    Read from the checks' side: a check is asked after its contact was accepted, so every check
    on the window's contacts was asked at or after ``start`` (``ix_check_requests_requested_at``),
    and each is kept if its contact is in the window (one probe by id). Joined from the contacts
    instead, SQLite probed ``check_requests`` once for every contact of the window, a year of a
    large council's (40,000) costing as much as the rest of the checks figures together.
    """
    contact_in_window = select(Contact.id).where(Contact.id == CheckRequest.contact_id, window).exists()
    per_agency: dict[str, Counter] = defaultdict(Counter)
    for agency, answered, late in db.session.execute(
            select(CheckRequest.agency, CheckResponse.id.is_not(None), CheckResponse.late)
            .outerjoin(CheckResponse, CheckResponse.check_id == CheckRequest.id)
            .where(CheckRequest.requested_at >= start, contact_in_window)):
        per_agency[agency]["asked"] += 1
        per_agency[agency]["late" if answered and late else "on_time" if answered else "not_answered"] += 1
    agencies = []
    for agency in CHECK_AGENCIES:
        row = per_agency[agency]
        asked, in_time, after = row["asked"], row["on_time"], row["late"]
        agencies.append({"agency": agency, "asked": asked, "answered_on_time": in_time, "answered_late": after,
                         "not_answered": asked - in_time - after, "on_time_share": share(in_time, asked)})
    return agencies


def describe_count(part: int, whole: int, shared: float | None) -> str:
    """"3 of 7" below the share threshold, "12 of 40 (30%)" above it: counts always, shares when meaningful."""
    text = f"{part} of {whole}"
    return text if shared is None else f"{text} ({shared * 100:.0f}%)"
