"""The management dashboard, counted where the data is (issues 18 and 19).

Why: a manager sees demand by day and source, conversion to referral, timeliness, departures
from the recommendation, whether the model still agrees with confirmed decisions, MARAC and
DASH figures. Over a year at a large council's volume, reading one row per contact into Python
took seconds and held the embedded store while partners were sending contacts. Here every
figure is a SQL aggregate (``COUNT``/``SUM`` of ``CASE``, ``GROUP BY`` the London day) over
indexed columns, so a year costs a few grouped scans, not a Python object per contact; the
answer has the same shape and the same figures as before (``DashboardSchema``).

What needed per-contact Python before is kept on the contact as it happens: its London day
(``accepted_day``) and its first decision's working hours and review deadline
(``services/decisions.py`` via ``timeliness.first_decision_facts``). Figures that depend on
"now" (undecided or unreviewed past the deadline) compare those stored deadlines in SQL.

A contact's outcome counts once a manager has reviewed its latest decision (the confirmed
level); lists of departures and managers' changes carry the most recent ``LISTED`` of each,
the totals count them all, so the answer's size never grows with the range.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import aliased

from triage.engine.contract import rfc3339
from triage.engine.guidance_config import LEVELS, REFERRAL_LEVEL, RISKS
from triage.engine.workdays import london_days
from triage.extensions import db
from triage.record.tables import Contact, Decision, Review, User
from triage.record.workflow import Status
from triage.reporting.checks_report import checks_figures
from triage.services.timeliness import REVIEW_WORKING_DAYS

DASH_BANDS = (*reversed(RISKS), "none")  # highest risk first; "none": no DASH band
DASHBOARD_DAYS = 30  # the dashboard's range when none is asked for
#: The most recent departures and managers' changes listed (newest first); the totals count all.
LISTED = 50

_decision, _review = aliased(Decision), aliased(Review)
#: The level a manager confirmed or changed on review of the latest decision, else NULL.
_confirmed = case((and_(Contact.status == Status.DECIDED, _review.decision_id == _decision.id), _review.level))
_referral = _confirmed >= REFERRAL_LEVEL
_scored = and_(_confirmed.is_not(None), Contact.recommended_level.is_not(None))
_agreed = and_(_scored, Contact.recommended_level == _confirmed)


def _count(condition) -> object:
    """``SUM(CASE WHEN condition THEN 1 ELSE 0 END)``: how many rows meet it (0, never NULL, on empty)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _share(part: int, whole: int) -> float | None:
    """A share rounded for reading (4 places: 0.1235 = 12.35%); None when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


def _in_window(first: date, last: date) -> list:
    return [Contact.accepted_day >= first, Contact.accepted_day <= last]


def _with_outcomes(*columns):
    """``columns`` over each contact with its latest decision and latest review (either may be absent)."""
    return (select(*columns).select_from(Contact)
            .outerjoin(_decision, _decision.id == Contact.latest_decision_id)
            .outerjoin(_review, _review.id == Contact.latest_review_id))


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _figures(agreed: int, scored: int) -> dict:
    return {"confirmed": scored, "agreed": agreed, "share": _share(agreed, scored)}


def _by_day_and_source(first: date, last: date) -> dict:
    """Demand per day and source, conversion by source and agreement by week: one grouped scan."""
    rows = db.session.execute(
        _with_outcomes(Contact.accepted_day, Contact.source_code, func.count(),
                       _count(_confirmed.is_not(None)), _count(_referral), _count(_scored), _count(_agreed))
        .where(*_in_window(first, last)).group_by(Contact.accepted_day, Contact.source_code)).all()
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    decided: Counter[str] = Counter()
    referrals: Counter[str] = Counter()
    weeks: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for day, source, n, n_decided, n_referrals, n_scored, n_agreed in rows:
        day = day if isinstance(day, date) else date.fromisoformat(day)
        counts[day][source] += n
        totals[source] += n
        decided[source] += n_decided
        referrals[source] += n_referrals
        if n_scored:
            weeks[week_start(day)][0] += n_agreed
            weeks[week_start(day)][1] += n_scored
    sources = sorted(totals, key=lambda code: (-totals[code], code))
    days, day = [], first
    while day <= last:
        days.append({"date": day.isoformat(), "total": sum(counts[day].values()),
                     "by_source": {code: counts[day][code] for code in sources}})
        day += timedelta(days=1)

    def conversion(d: int, r: int) -> dict:
        return {"decided": d, "referrals": r, "share": _share(r, d)}

    return {
        "contacts": sum(totals.values()),
        "per_day": {"sources": sources, "days": days},
        "conversion": {**conversion(sum(decided.values()), sum(referrals.values())),
                       "by_source": {code: conversion(decided[code], referrals[code])
                                     for code in sorted(totals) if decided[code]}},
        "by_week": [{"week_starting": w.isoformat(), **_figures(*weeks[w])} for w in sorted(weeks)],
    }


def _agreement_by_model(first: date, last: date) -> dict:
    model = func.coalesce(Contact.model_version, "unknown")
    rows = db.session.execute(_with_outcomes(model, _count(_agreed), _count(_scored))
                              .where(*_in_window(first, last), _scored).group_by(model)).all()
    return {version: _figures(agreed, scored) for version, agreed, scored in sorted(rows)}


def _timeliness(first: date, last: date, now: datetime) -> dict:
    """First decision against the contact's deadline; its first review against one working day after it."""
    decided = Contact.first_decided_at.is_not(None)
    reviewed = and_(decided, Contact.first_reviewed_at.is_not(None))
    made, on_time, overdue, reviews, reviews_on_time, overdue_reviews = db.session.execute(
        select(_count(decided),
               _count(and_(decided, Contact.decision_due_at.is_not(None),
                           Contact.first_decided_at <= Contact.decision_due_at)),
               _count(and_(Contact.first_decided_at.is_(None), Contact.decision_due_at < now)),
               _count(reviewed),
               _count(and_(reviewed, Contact.first_reviewed_at <= Contact.first_review_due_at)),
               _count(and_(decided, Contact.first_reviewed_at.is_(None), Contact.first_review_due_at < now)))
        .where(*_in_window(first, last))).one()
    median = None
    if made:  # the middle one of the sorted hours (the upper middle of an even count), as before
        median = db.session.scalar(select(Contact.first_decision_hours).where(*_in_window(first, last), decided)
                                   .order_by(Contact.first_decision_hours).limit(1).offset(made // 2))
    return {
        "decisions": {"made": made, "within_deadline": on_time, "share": _share(on_time, made),
                      "undecided_past_deadline": overdue, "median_working_hours": median},
        "reviews": {"made": reviews, "within_deadline": reviews_on_time,
                    "share": _share(reviews_on_time, reviews), "unreviewed_past_deadline": overdue_reviews,
                    "deadline_working_days": REVIEW_WORKING_DAYS},
    }


def _departures(first: date, last: date) -> dict:
    """Workers' decisions that differ from the recommendation, and managers' changes, with reasons."""
    with_rec = _decision.recommended_level.is_not(None)
    departed = and_(with_rec, _decision.level != _decision.recommended_level)
    changed = _review.outcome == "changed"
    decisions, departures, higher, lower, reviews, changes = db.session.execute(
        _with_outcomes(_count(with_rec), _count(departed),
                       _count(and_(departed, _decision.level > _decision.recommended_level)),
                       _count(and_(departed, _decision.level < _decision.recommended_level)),
                       _count(_review.id.is_not(None)), _count(changed))
        .where(*_in_window(first, last))).one()
    newest = (Contact.accepted_at.desc(), Contact.id.desc())
    worker, manager = aliased(User), aliased(User)
    items = db.session.execute(
        _with_outcomes(Contact.id, Contact.received_at, Contact.accepted_at, _decision.recommended_level,
                       _decision.level, _decision.override_reason, worker.email)
        .outerjoin(worker, worker.id == _decision.decided_by_id)
        .where(*_in_window(first, last), departed).order_by(*newest).limit(LISTED)).all() if departures else []
    changed_items = db.session.execute(
        _with_outcomes(Contact.id, Contact.received_at, Contact.accepted_at, _decision.level, _review.level,
                       _review.rationale, manager.email)
        .outerjoin(manager, manager.id == _review.reviewed_by_id)
        .where(*_in_window(first, last), changed).order_by(*newest).limit(LISTED)).all() if changes else []
    return {
        "decisions": decisions,
        "departures": departures,
        "share": _share(departures, decisions),
        "higher": higher,
        "lower": lower,
        "listed": LISTED,
        "items": [{"contact_id": cid, "received_at": rfc3339(received), "accepted_at": rfc3339(accepted),
                   "recommended_level": recommended, "decided_level": level, "reason": reason,
                   "decided_by": by or ""}
                  for cid, received, accepted, recommended, level, reason, by in items],
        "reviews": reviews,
        "changed_by_managers": changes,
        "changed_share": _share(changes, reviews),
        "changes": [{"contact_id": cid, "received_at": rfc3339(received), "accepted_at": rfc3339(accepted),
                     "decided_level": decided, "confirmed_level": confirmed, "reason": reason,
                     "reviewed_by": by or ""}
                    for cid, received, accepted, decided, confirmed, reason, by in changed_items],
    }


def _marac_criteria(first: date, last: date) -> dict[str, int]:
    """How many contacts met each MARAC criterion: the recommendation's list, unnested by the database."""
    if db.engine.dialect.name == "postgresql":
        listed = Contact.recommendation[("marac", "criteria")]
        array = case((func.json_typeof(listed) == "array", listed))
        criterion = func.json_array_elements_text(array).table_valued("value").lateral()
        query = (select(criterion.c.value, func.count()).select_from(Contact).join(criterion, true())
                 .where(*_in_window(first, last)).group_by(criterion.c.value))
    else:
        criterion = func.json_each(Contact.recommendation, "$.marac.criteria").table_valued("value", "type")
        query = (select(criterion.c.value, func.count()).select_from(Contact).join(criterion, true())
                 .where(*_in_window(first, last),
                        func.json_type(Contact.recommendation, "$.marac.criteria") == "array")
                 .group_by(criterion.c.value))
    return dict(sorted((str(value), n) for value, n in db.session.execute(query)))


def _marac_and_dash(first: date, last: date) -> tuple[dict, dict]:
    domestic = Contact.primary_concern == "domestic_abuse"
    recommended, referred, contacts = db.session.execute(
        _with_outcomes(_count(Contact.marac_recommended == true()), _count(_decision.marac_referral == true()),
                       _count(domestic)).where(*_in_window(first, last))).one()
    band = func.coalesce(Contact.dash_risk, "none")
    bands = dict(db.session.execute(select(band, func.count()).where(*_in_window(first, last), domestic)
                                    .group_by(band)).all())
    marac = {"recommended": recommended, "referred": referred, "criteria": _marac_criteria(first, last)}
    dash = {"domestic_abuse_contacts": contacts,
            "bands": {name: {"contacts": bands.get(name, 0), "share": _share(bands.get(name, 0), contacts)}
                      for name in DASH_BANDS}}
    return marac, dash


def dashboard_for(first: date, last: date, now: datetime, levels: dict[int, dict]) -> dict:
    """The manager's figures for contacts accepted from ``first`` to ``last`` (London days, inclusive)."""
    grouped = _by_day_and_source(first, last)
    by_week = grouped.pop("by_week")
    scored = sum(w["confirmed"] for w in by_week)
    agreed = sum(w["agreed"] for w in by_week)
    marac, dash = _marac_and_dash(first, last)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "level_names": {str(n): levels[n]["name"] for n in LEVELS},
        "referral_level": REFERRAL_LEVEL,
        "contacts": grouped["contacts"],
        "per_day": grouped["per_day"],
        "conversion": grouped["conversion"],
        "timeliness": _timeliness(first, last, now),
        "departures": _departures(first, last),
        "agreement": {**_figures(agreed, scored), "by_week": by_week, "by_model": _agreement_by_model(first, last)},
        "marac": marac,
        "dash": dash,
        "checks": checks_figures(*london_days(first, last)),  # issue 13 item 7
    }
