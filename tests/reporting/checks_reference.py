"""Screening and checks figures as ``checks_report.checks_figures`` computed them before issue 15 finding 5.

Kept in the tests only, as the reference the cheaper counting (from ``check_requests`` and the
contact's own columns, no ``EXISTS`` per contact) must equal on varied data; nothing in the service
uses it.
"""

from __future__ import annotations

import statistics
from datetime import datetime

from sqlalchemy import and_, case, exists, func, select

from triage.engine.guidance_config import CHECK_AGENCIES
from triage.extensions import db
from triage.record.tables import CheckRequest, CheckResponse, Contact, Decision
from triage.reporting.checks_report import MIN_FOR_SHARE, share


def _in_window(start: datetime, end: datetime, organisation_id: int | None):
    clauses = [Contact.accepted_at >= start, Contact.accepted_at < end]
    if organisation_id is not None:
        clauses.append(Contact.organisation_id == organisation_id)
    return and_(*clauses)


def _median_hours(window, which) -> dict:
    """How many ``which`` contacts were decided, and the median working hours to their first decision.

    The hours are kept on each contact when its first decision is made (``first_decision_hours``,
    services/decisions.py), so the median is picked by the database: the middle one, or the mean
    of the middle two, rounded to a tenth.
    """
    decided = and_(window, which, Contact.first_decided_at.is_not(None))
    count = db.session.scalar(select(func.count()).select_from(Contact).where(decided))
    median = None
    if count:
        middle = db.session.scalars(select(Contact.first_decision_hours).where(decided)
                                    .order_by(Contact.first_decision_hours)
                                    .offset((count - 1) // 2).limit(2 - count % 2)).all()
        median = round(statistics.median(middle), 1)
    return {"decided": count, "median_working_hours": median}


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

    with_checks = _median_hours(window, has_checks)
    without = _median_hours(window, ~has_checks)

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
            "with_checks": with_checks,
            "without_checks": without,
        },
        "level_changed": {
            "rescored": rescored_n, "raised": raised, "lowered": lowered, "unchanged": rescored_n - raised - lowered,
            "changed_share": share(raised + lowered, rescored_n),
        },
    }
