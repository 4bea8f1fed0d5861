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

The grouped counts are folded by London day (``_by_day``); a closed day's figures are kept in
``dashboard_days`` and read back while its contacts are unchanged (``reporting/daysum.py``, issue
15 finding 5), so a year counts from the contacts only the days that changed or are not kept.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from operator import add

import numpy as np
from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import aliased

from triage.engine.contract import SOURCE_CODES, rfc3339
from triage.engine.guidance_config import LEVELS, REFERRAL_LEVEL, RISKS
from triage.engine.workdays import london_days
from triage.extensions import db
from triage.record.queries import accepted_window
from triage.record.tables import MARAC_SEPARATOR, Contact, Decision, Review, User
from triage.record.workflow import Status
from triage.reporting import daysum
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


def _accepted_between(first: date, last: date) -> list:
    """The same window as ``_in_window`` on ``accepted_at``: lists of the newest walk its index backwards.

    On ``accepted_day`` a list of the newest 50 read and sorted every row of the window; on
    ``accepted_at`` the database reads the window newest first and stops once it has 50.
    """
    return accepted_window(*london_days(first, last))


def _with_outcomes(*columns):
    """``columns`` over each contact with its latest decision and latest review (either may be absent)."""
    return (select(*columns).select_from(Contact)
            .outerjoin(_decision, _decision.id == Contact.latest_decision_id)
            .outerjoin(_review, _review.id == Contact.latest_review_id))


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


#: The longest window the page shows contacts day by day; a longer one by week (at most 53 rows).
DAILY_UP_TO = 62


def demand(per_day: dict) -> dict:
    """Contacts received by day, or by week (from Monday) once the window is over ``DAILY_UP_TO`` days.

    Why: a year drawn day by day is 366 bars and a 366-row table (a 750 KB page that takes longer
    to draw than the figures take to count), and nobody reads demand over a year by the day. A
    week cut short by the window says how many of its days are in it, so a short week is not
    read as a quiet one. ``per_day`` is the dashboard's ``per_day``.
    """
    days, sources = per_day["days"], per_day["sources"]
    if len(days) <= DAILY_UP_TO:
        return {"unit": "day", "sources": sources,
                "rows": [{"label": d["date"], "total": d["total"], "by_source": d["by_source"]} for d in days]}
    weeks: dict[date, dict] = {}
    for d in days:
        start = week_start(date.fromisoformat(d["date"]))
        week = weeks.setdefault(start, {"days": 0, "total": 0, "by_source": dict.fromkeys(sources, 0)})
        week["days"] += 1
        week["total"] += d["total"]
        for code in sources:
            week["by_source"][code] += d["by_source"][code]
    rows = [{"label": f"Week of {start.isoformat()}" + ("" if week["days"] == 7 else f" ({week['days']} days)"),
             "total": week["total"], "by_source": week["by_source"]} for start, week in weeks.items()]
    return {"unit": "week", "sources": sources, "rows": rows}


def _counts(now: datetime) -> dict:
    """Every count the dashboard needs of a contact, by name, as SQL conditions (two depend on ``now``)."""
    decided = Contact.first_decided_at.is_not(None)
    reviewed = and_(decided, Contact.first_reviewed_at.is_not(None))
    with_rec = _decision.recommended_level.is_not(None)
    departed = and_(with_rec, _decision.level != _decision.recommended_level)
    domestic = Contact.primary_concern == "domestic_abuse"
    band = func.coalesce(Contact.dash_risk, "none")
    return {
        "decided": _confirmed.is_not(None), "referrals": _referral, "scored": _scored, "agreed": _agreed,
        "made": decided,
        "within_deadline": and_(decided, Contact.decision_due_at.is_not(None),
                                Contact.first_decided_at <= Contact.decision_due_at),
        "undecided_past_deadline": and_(Contact.first_decided_at.is_(None), Contact.decision_due_at < now),
        "reviews_made": reviewed,
        "reviews_within_deadline": and_(reviewed, Contact.first_reviewed_at <= Contact.first_review_due_at),
        "unreviewed_past_deadline": and_(decided, Contact.first_reviewed_at.is_(None),
                                         Contact.first_review_due_at < now),
        "with_rec": with_rec, "departures": departed,
        "higher": and_(departed, _decision.level > _decision.recommended_level),
        "lower": and_(departed, _decision.level < _decision.recommended_level),
        "reviews": _review.id.is_not(None), "changed": _review.outcome == "changed",
        "marac_recommended": Contact.marac_recommended == true(), "marac_referred": _decision.marac_referral == true(),
        "domestic": domestic,
        **{f"band_{name}": and_(domestic, band == name) for name in DASH_BANDS},
    }


#: The names of the counts in each grouped row, after its London day, source and model (any "now" names them).
GROUPED = ("contacts", *_counts(datetime(2000, 1, 1, tzinfo=timezone.utc)))
#: Moved on whenever what a count means changes: per-day summaries kept under another are counted again.
SUMMARY_VERSION = 4  # 3: each day's decided hours kept for the medians; 4: packed (``pack_hours``)
SUMMARY_LAYOUT = f"{SUMMARY_VERSION}-{hashlib.sha256(','.join(GROUPED).encode()).hexdigest()[:16]}"


def _grouped(where, now: datetime) -> list:
    """Every count the dashboard needs, in one scan of the contacts ``where`` picks, by London day, source and model.

    At most a few thousand small rows (366 days x sources x model versions) whatever the number of
    contacts; the Python that folds them into days, weeks, sources and totals reads only those.
    ``where``: the window, or the days of it no summary answers for (``reporting/daysum.py``).
    """
    model = func.coalesce(Contact.model_version, "unknown")
    return db.session.execute(
        _with_outcomes(Contact.accepted_day.label("day"), Contact.source_code.label("source"), model.label("model"),
                       func.count().label("contacts"), *(_count(c).label(name) for name, c in _counts(now).items()))
        .where(where).group_by(Contact.accepted_day, Contact.source_code, model)).all()


def _criteria(where) -> dict[date, dict[str, int]]:
    """Each London day's combinations of MARAC criteria met, and how many contacts met each, for ``where``.

    Read from ``ix_contacts_marac``: the database groups each day by the combination of criteria
    met (a handful of distinct values), whatever the contacts' primary concern.
    """
    per_day: dict[date, dict[str, int]] = defaultdict(dict)
    for day, combination, n in db.session.execute(
            select(Contact.accepted_day, Contact.marac_criteria, func.count())
            .where(where, Contact.marac_criteria.is_not(None)).group_by(Contact.accepted_day, Contact.marac_criteria)):
        per_day[_as_date(day)][combination] = int(n)
    return dict(per_day)


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


#: Where each count is in a row of ``GROUPED``.
_AT = {name: n for n, name in enumerate(GROUPED)}


def _hours(where) -> dict[date, list[float]]:
    """Each London day's decided contacts' working hours to their first decision, sorted, for ``where``."""
    per_day: dict[date, list[float]] = defaultdict(list)
    for day, hours in db.session.execute(
            select(Contact.accepted_day, Contact.first_decision_hours)
            .where(where, Contact.first_decided_at.is_not(None), Contact.first_decision_hours.is_not(None))
            .order_by(Contact.accepted_day, Contact.first_decision_hours)):
        per_day[_as_date(day)].append(hours)
    return dict(per_day)


#: How a day's sorted hours are kept: little-endian 64-bit floats (exact), base64 in the day's JSON.
HOURS_DTYPE = np.dtype("<f8")


def pack_hours(hours: list[float]) -> str:
    """A day's sorted working hours as text for its JSON: the floats' bytes in base64.

    Why: a year is some 28,000 decided contacts; read back as JSON numbers they took longer to
    parse than every other figure of the year together. As bytes they are read in one step, exact.
    """
    return base64.b64encode(np.asarray(hours, dtype=HOURS_DTYPE).tobytes()).decode("ascii")


def unpack_hours(packed: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(packed), dtype=HOURS_DTYPE)


def _by_day(rows: list, hours: dict[date, list[float]]) -> dict[date, dict]:
    """Grouped rows of (London day, source, model, the counts of ``GROUPED``) as each day's figures.

    A day's figures: ``total``, every count of ``GROUPED`` summed over the day's rows (column
    sums, in C); ``sources``, each source's contacts, decided and referrals; ``models``, each
    model's confirmed and agreed among its scored rows; ``hours``, its decided contacts' working
    hours to the first decision, sorted and packed (``_hours``, ``pack_hours``: the medians are picked
    from them). That is all
    the dashboard shows per source and model, so a day is a few dozen numbers and a short list to
    keep (``reporting/daysum.py``) and to fold.
    """
    contacts, decided, referrals, scored, agreed = (_AT[k] + 3 for k in ("contacts", "decided", "referrals",
                                                                        "scored", "agreed"))
    per_day: dict[date, list] = defaultdict(list)
    for row in rows:
        per_day[_as_date(row[0])].append(row)
    days = {}
    for day, day_rows in per_day.items():
        sources: dict[str, list[int]] = {}
        models: dict[str, list[int]] = {}
        for row in day_rows:
            source = sources.setdefault(row[1], [0, 0, 0])
            source[0] += int(row[contacts])
            source[1] += int(row[decided])
            source[2] += int(row[referrals])
            if row[scored]:
                model = models.setdefault(row[2], [0, 0])
                model[0] += int(row[scored])
                model[1] += int(row[agreed])
        days[day] = {"total": [int(sum(column)) for column in list(zip(*day_rows, strict=True))[3:]],
                     "sources": sources, "models": models, "hours": pack_hours(hours.get(day, []))}
    return days


#: Each source code's row in a day's ``DayFigures.by_source`` (the contract's codes, the only ones stored).
_SOURCE_ROW = {code: n for n, code in enumerate(SOURCE_CODES)}


@dataclass(frozen=True)
class DayFigures:
    """A London day's figures (``_by_day``) as ``_fold`` reads them: sums as arrays, the hours unpacked.

    Why: folding a year added up some 7,000 (day, source) lists one number at a time and unpacked
    366 days' hours on every request. As arrays the sums are a few calls in C, and a kept day's
    ``DayFigures`` is made once per worker (``daysum`` holds it), not once per request.
    """

    total: np.ndarray  # every count of ``GROUPED``
    by_source: np.ndarray  # a row per source code (``_SOURCE_ROW``): contacts, decided, referrals
    received: dict[str, int]  # contacts by the codes that sent any
    models: dict[str, list[int]]  # each model's confirmed and agreed among its scored contacts
    hours: np.ndarray  # the decided contacts' working hours to the first decision, sorted

    @classmethod
    def of(cls, figures: dict) -> DayFigures:
        by_source = np.zeros((len(SOURCE_CODES), 3), dtype=np.int64)
        for code, numbers in figures["sources"].items():
            by_source[_SOURCE_ROW[code]] = numbers
        return cls(np.asarray(figures["total"], dtype=np.int64), by_source,
                   {code: numbers[0] for code, numbers in figures["sources"].items()}, figures["models"],
                   unpack_hours(figures["hours"]))


def _fold(days: dict[date, DayFigures], first: date, last: date) -> dict:
    """Each London day's figures as the dashboard's: per day and source, by week, by model, in total.

    Why by day: a year is some 7,000 grouped rows of 35 counts, but only 366 days of a few dozen
    numbers each, and a closed day's figures are kept as they are (``reporting/daysum.py``).
    """
    scored, agreed = _AT["scored"], _AT["agreed"]
    by_week: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    by_model: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for day, figures in days.items():
        if figures.total[scored]:
            week = by_week[week_start(day)]
            week[0] += int(figures.total[scored])
            week[1] += int(figures.total[agreed])
        for version, numbers in figures.models.items():
            by_model[version] = list(map(add, by_model[version], numbers))
    total_sums = np.sum([f.total for f in days.values()], axis=0) if days else np.zeros(len(GROUPED), np.int64)
    total = Counter(dict(zip(GROUPED, map(int, total_sums), strict=True)))
    source_sums = np.sum([f.by_source for f in days.values()], axis=0) if days else np.zeros((len(SOURCE_CODES), 3), np.int64)
    by_source = {code: [int(n) for n in source_sums[row]] for code, row in _SOURCE_ROW.items() if source_sums[row, 0]}
    sources = sorted(by_source, key=lambda code: (-by_source[code][0], code))
    listed, day, none = [], first, dict.fromkeys(sources, 0)
    while day <= last:
        figures = days.get(day)
        counts = figures.received if figures is not None else {}
        by_day_source = none | counts  # every source, busiest first, 0 where none came that day
        listed.append({"date": day.isoformat(), "total": sum(counts.values()), "by_source": by_day_source})
        day += timedelta(days=1)

    def conversion(made: int, referred: int) -> dict:
        return {"decided": made, "referrals": referred, "share": _share(referred, made)}

    def agreement(confirmed: int, agreed_: int) -> dict:
        return {"confirmed": confirmed, "agreed": agreed_, "share": _share(agreed_, confirmed)}

    return {
        "total": total,
        "per_day": {"sources": sources, "days": listed},
        "conversion": {**conversion(total["decided"], total["referrals"]),
                       "by_source": {code: conversion(*c[1:]) for code, c in sorted(by_source.items()) if c[1]}},
        "agreement": {**agreement(total["scored"], total["agreed"]),
                      "by_week": [{"week_starting": w.isoformat(), **agreement(*c)} for w, c in sorted(by_week.items())],
                      "by_model": {version: agreement(*c) for version, c in sorted(by_model.items())}},
    }


def _decided_middle(hours_by_day: list[np.ndarray]) -> list[float]:
    """The middle one or two (an even count) of the window's decided contacts' working hours, in order.

    From each day's hours (``_by_day``), kept with the day's summary, so a year's median does
    not sort a year's contacts in the database on every request, and picked (``np.partition``)
    without sorting them here either. One pick serves two medians: the
    dashboard's (the upper middle, as before) and, when no decided contact was sent to checks,
    the checks figures' median without checks (the mean of the middle two).
    """
    hours = np.concatenate(hours_by_day) if hours_by_day else np.empty(0, HOURS_DTYPE)
    made = len(hours)
    if not made:
        return []
    low, high = (made - 1) // 2, made // 2
    picked = np.partition(hours, [low, high])
    return [float(picked[low])] if low == high else [float(picked[low]), float(picked[high])]


def _timeliness(total: Counter[str], middle: list[float]) -> dict:
    """First decision against the contact's deadline; its first review against one working day after it."""
    made, on_time = total["made"], total["within_deadline"]
    reviews, reviews_on_time = total["reviews_made"], total["reviews_within_deadline"]
    median = round(middle[-1], 2) if middle else None  # the upper middle of an even count, as before
    return {
        "decisions": {"made": made, "within_deadline": on_time, "share": _share(on_time, made),
                      "undecided_past_deadline": total["undecided_past_deadline"], "median_working_hours": median},
        "reviews": {"made": reviews, "within_deadline": reviews_on_time,
                    "share": _share(reviews_on_time, reviews), "unreviewed_past_deadline": total["unreviewed_past_deadline"],
                    "deadline_working_days": REVIEW_WORKING_DAYS},
    }


def _departures(first: date, last: date, total: Counter[str]) -> dict:
    """Workers' decisions that differ from the recommendation, and managers' changes: counted, the newest listed."""
    departed = and_(_decision.recommended_level.is_not(None), _decision.level != _decision.recommended_level)
    changed = _review.outcome == "changed"
    newest = (Contact.accepted_at.desc(), Contact.id.desc())
    worker, manager = aliased(User), aliased(User)
    items = db.session.execute(
        _with_outcomes(Contact.id, Contact.received_at, Contact.accepted_at, _decision.recommended_level,
                       _decision.level, _decision.override_reason, worker.email)
        .outerjoin(worker, worker.id == _decision.decided_by_id)
        .where(*_accepted_between(first, last), departed).order_by(*newest).limit(LISTED)).all() if total["departures"] else []
    changed_items = db.session.execute(
        _with_outcomes(Contact.id, Contact.received_at, Contact.accepted_at, _decision.level, _review.level,
                       _review.rationale, manager.email)
        .outerjoin(manager, manager.id == _review.reviewed_by_id)
        .where(*_accepted_between(first, last), changed).order_by(*newest).limit(LISTED)).all() if total["changed"] else []
    return {
        "decisions": total["with_rec"],
        "departures": total["departures"],
        "share": _share(total["departures"], total["with_rec"]),
        "higher": total["higher"],
        "lower": total["lower"],
        "listed": LISTED,
        "items": [{"contact_id": cid, "received_at": rfc3339(received), "accepted_at": rfc3339(accepted),
                   "recommended_level": recommended, "decided_level": level, "reason": reason,
                   "decided_by": by or ""}
                  for cid, received, accepted, recommended, level, reason, by in items],
        "reviews": total["reviews"],
        "changed_by_managers": total["changed"],
        "changed_share": _share(total["changed"], total["reviews"]),
        "changes": [{"contact_id": cid, "received_at": rfc3339(received), "accepted_at": rfc3339(accepted),
                     "decided_level": decided, "confirmed_level": confirmed, "reason": reason,
                     "reviewed_by": by or ""}
                    for cid, received, accepted, decided, confirmed, reason, by in changed_items],
    }


def _marac_criteria(combinations: Counter[str]) -> dict[str, int]:
    """How many contacts met each MARAC criterion: each combination's count added to every criterion in it.

    Every contact in the window counts, not only those whose primary concern is domestic abuse:
    domestic abuse may be among a contact's other concerns, and its criteria count too.
    """
    met: Counter[str] = Counter()
    for combination, n in combinations.items():
        for criterion in combination.split(MARAC_SEPARATOR):
            met[criterion] += n
    return dict(sorted(met.items()))


def _summarised(first: date, last: date, now: datetime, use: bool) -> daysum.Summarised:
    return daysum.summarised(first, last, now, layout=SUMMARY_LAYOUT,
                             grouped=lambda where: _by_day(_grouped(where, now), _hours(where)), criteria=_criteria,
                             read=DayFigures.of, use=use)


def keep_summaries(first: date, last: date, now: datetime) -> tuple[int, int]:
    """Count and keep every closed, settled day from ``first`` to ``last`` not kept yet (the CLI's warming).

    Returns (days already kept and unchanged, days kept now).
    """
    summary = _summarised(first, last, now, True)
    return summary.kept_days, daysum.store(summary.pending)


def dashboard_for(first: date, last: date, now: datetime, levels: dict[int, dict], *, summaries: bool = True) -> dict:
    """The manager's figures for contacts accepted from ``first`` to ``last`` (London days, inclusive).

    The grouped counts of closed days come from their per-day summaries where these are unchanged
    (``reporting/daysum.py``); days counted now are kept once the answer is read. ``summaries=False``
    counts every day from the contacts and keeps nothing: the same answer, figure for figure.
    """
    summary = _summarised(first, last, now, summaries)
    folded = _fold(summary.days, first, last)
    total = folded["total"]
    middle = _decided_middle([figures.hours for figures in summary.days.values() if len(figures.hours)])
    domestic = total["domestic"]
    board = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "level_names": {str(n): levels[n]["name"] for n in LEVELS},
        "referral_level": REFERRAL_LEVEL,
        "contacts": total["contacts"],
        "per_day": folded["per_day"],
        "conversion": folded["conversion"],
        "timeliness": _timeliness(total, middle),
        "departures": _departures(first, last, total),
        "agreement": folded["agreement"],
        "marac": {"recommended": total["marac_recommended"], "referred": total["marac_referred"],
                  "criteria": _marac_criteria(summary.criteria)},
        "dash": {"domestic_abuse_contacts": domestic,
                 "bands": {name: {"contacts": total[f"band_{name}"], "share": _share(total[f"band_{name}"], domestic)}
                           for name in DASH_BANDS}},
        "checks": checks_figures(*london_days(first, last), counted=(total["contacts"], total["made"]),
                                 decided_middle=middle),  # issue 13 item 7
    }
    if summaries:
        daysum.store(summary.pending)
    return board
