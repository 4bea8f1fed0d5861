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
the England and Wales calendar, which SQL does not know: the medians read one row per decided
contact (two timestamps and a flag, no ORM objects) and count the hours in Python.

Small numbers: a share is given only when at least ``MIN_FOR_SHARE`` contacts are behind it; the
counts are always given, so a reader never sees "50%" of two contacts without knowing it is two.
"""

from __future__ import annotations

import statistics
from datetime import datetime

from sqlalchemy import and_, case, exists, func, select

from triage.engine.guidance_config import CHECK_AGENCIES
from triage.engine.workdays import working_hours_between
from triage.extensions import db
from triage.record.tables import CheckRequest, CheckResponse, Contact, Decision

#: The fewest contacts a share is computed from; below it only the counts are shown.
MIN_FOR_SHARE = 10


def share(part: int, whole: int) -> float | None:
    """``part / whole`` rounded for reading, or None below ``MIN_FOR_SHARE`` (the counts say it)."""
    return round(part / whole, 4) if whole >= MIN_FOR_SHARE else None


def _in_window(start: datetime, end: datetime, organisation_id: int | None):
    clauses = [Contact.accepted_at >= start, Contact.accepted_at < end]
    if organisation_id is not None:
        clauses.append(Contact.organisation_id == organisation_id)
    return and_(*clauses)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def checks_figures(start: datetime, end: datetime, *, organisation_id: int | None = None) -> dict:
    """The figures for contacts accepted in ``[start, end)`` (one partner's when ``organisation_id``)."""
    window = _in_window(start, end, organisation_id)
    has_checks = exists().where(CheckRequest.contact_id == Contact.id)
    has_decision = exists().where(Decision.contact_id == Contact.id)

    contacts, sent, decided, settled = db.session.execute(
        select(func.count(Contact.id),
               func.coalesce(func.sum(case((has_checks, 1), else_=0)), 0),
               func.coalesce(func.sum(case((has_decision, 1), else_=0)), 0),
               func.coalesce(func.sum(case((and_(has_decision, ~has_checks), 1), else_=0)), 0))
        .where(window)).one()

    on_time = and_(CheckResponse.id.is_not(None), CheckResponse.late.is_(False))
    late = and_(CheckResponse.id.is_not(None), CheckResponse.late.is_(True))
    per_agency = {row.agency: row for row in db.session.execute(
        select(CheckRequest.agency.label("agency"), func.count(CheckRequest.id).label("asked"),
               func.coalesce(func.sum(case((on_time, 1), else_=0)), 0).label("on_time"),
               func.coalesce(func.sum(case((late, 1), else_=0)), 0).label("late"))
        .join(Contact, Contact.id == CheckRequest.contact_id)
        .outerjoin(CheckResponse, CheckResponse.check_id == CheckRequest.id)
        .where(window).group_by(CheckRequest.agency))}
    agencies = []
    for agency in CHECK_AGENCIES:
        row = per_agency.get(agency)
        asked, in_time, after = (int(row.asked), int(row.on_time), int(row.late)) if row else (0, 0, 0)
        agencies.append({"agency": agency, "asked": asked, "answered_on_time": in_time, "answered_late": after,
                         "not_answered": asked - in_time - after, "on_time_share": share(in_time, asked)})

    # the level before and after checks: the screening recommendation kept beside the one made again
    before = Contact.screening_recommendation["level"].as_integer()
    after_level = Contact.recommended_level
    rescored = and_(Contact.screening_recommendation.is_not(None), has_checks)
    rescored_n, raised, lowered = db.session.execute(
        select(func.coalesce(func.sum(case((rescored, 1), else_=0)), 0),
               func.coalesce(func.sum(case((and_(rescored, after_level > before), 1), else_=0)), 0),
               func.coalesce(func.sum(case((and_(rescored, after_level < before), 1), else_=0)), 0))
        .where(window)).one()

    first = (select(Decision.contact_id, func.min(Decision.decided_at).label("decided_at"))
             .where(Decision.contact_id.in_(select(Contact.id).where(window)))  # the window's, not the store's
             .group_by(Decision.contact_id).subquery())
    rows = db.session.execute(
        select(Contact.accepted_at, first.c.decided_at, case((has_checks, True), else_=False))
        .join(first, first.c.contact_id == Contact.id).where(window)).all()
    with_checks = [working_hours_between(a, d) for a, d, checked in rows if checked]
    without = [working_hours_between(a, d) for a, d, checked in rows if not checked]

    contacts, sent, decided, settled = int(contacts), int(sent), int(decided), int(settled)
    rescored_n, raised, lowered = int(rescored_n), int(raised), int(lowered)
    return {
        "min_for_share": MIN_FOR_SHARE,
        "contacts": contacts,
        "decided": decided,
        "settled_at_screening": settled,
        "settled_at_screening_share": share(settled, decided),
        "sent_to_checks": sent,
        "sent_to_checks_share": share(sent, contacts),
        "agencies": agencies,
        "time_to_decision": {
            "with_checks": {"decided": len(with_checks), "median_working_hours": _median(with_checks)},
            "without_checks": {"decided": len(without), "median_working_hours": _median(without)},
        },
        "level_changed": {
            "rescored": rescored_n, "raised": raised, "lowered": lowered, "unchanged": rescored_n - raised - lowered,
            "changed_share": share(raised + lowered, rescored_n),
        },
    }


def describe_count(part: int, whole: int, shared: float | None) -> str:
    """"3 of 7" below the share threshold, "12 of 40 (30%)" above it: counts always, shares when meaningful."""
    text = f"{part} of {whole}"
    return text if shared is None else f"{text} ({shared * 100:.0f}%)"
