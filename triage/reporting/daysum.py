"""Per-day summaries of the dashboard's counts, so a year costs about what a month does (issue 15 finding 5).

Why: the dashboard's grouped counts of a year read every contact of the year (an index range
scan of some 40,000 entries at a large council's volume) on every request, though almost every
day of the year is closed and will not change. Here each closed London day's counts are kept in
``dashboard_days`` once counted, and read back while none of the day's contacts has changed; only
changed days, days not yet kept and the days from today on are counted from the contacts.

Changed is said by the store itself (migration ``0022_kept_day_touches``): a trigger on
``contacts`` adds one to its day's ``dashboard_days.touched`` whenever a contact of that day is
added or changed, by any path (the service, the batch loader, a hand edit in SQL), in the same
transaction as the change (on PostgreSQL when it commits). A kept day is used only while
``touched`` is 0, so judging a year costs the 366 small rows, not the year's contacts.

A day's counts are kept with its fingerprint, read before they were counted (``fingerprints``:
how many contacts, and the sums of their versions, latest decision ids and latest review ids;
each only ever grows, and every change through the service moves one). That closes the one gap
the trigger leaves: a change committed while the day was being counted, before its row existed
(or before the row was stored again), finds no row to touch. So after keeping days, ``store``
reads their fingerprints again, and touches any day whose fingerprint moved (on PostgreSQL the
trigger is deferred to commit, so a change still in flight when the row is stored touches it
when it commits). Only a hand edit in SQL that moves no version, made in the moment a day is
being counted, could leave a day kept stale; ``triage dashboard-summaries --clear`` empties the
table.

Two counts depend on "now" (undecided past the deadline, unreviewed past the deadline). A day's
counts are kept, and used, only once every deadline of its contacts (``deadline``, the latest) is
before "now": from then on they no longer change with "now"; until then the day is counted live.

What is kept is the day's figures as the dashboard folds them (``dashboard._by_day``: its total
of every count, each source's and each model's) and the day's MARAC criteria combinations, the
same whether they were kept or counted now
(``tests/reporting/test_daysum.py`` compares the two). Changing what a count means needs a new
``dashboard.SUMMARY_LAYOUT`` (rows of another layout are counted again). A migration that
rebuilds ``contacts`` (SQLite's batch mode copies the table) must create the trigger again.
"""

from __future__ import annotations

import logging
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, String, func, or_, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from triage.engine.workdays import london_date
from triage.extensions import db
from triage.record import txn
from triage.record.tables import Contact, DashboardDay, utcnow

log = logging.getLogger(__name__)

#: Counts the contacts a condition picks, by London day: ``{day: figures}`` (JSON-able, as kept).
Query = Callable[[object], dict]


@dataclass(frozen=True)
class Fingerprint:
    """A London day's contacts as the summaries know them: changed contacts give another ``key``."""

    key: tuple[int, int, int, int]
    deadline: datetime | None  # the latest decision or review deadline of the day's contacts

    def settled(self, now: datetime) -> bool:
        """Every deadline of the day is past: its counts no longer change with "now"."""
        return self.deadline is None or self.deadline < now


@dataclass
class Summarised:
    """A window's figures by London day and its MARAC combinations, from summaries and from the contacts."""

    days: dict[date, object] = field(default_factory=dict)  # each London day's figures, as ``read`` makes them
    criteria: Counter[str] = field(default_factory=Counter)
    pending: list[dict] = field(default_factory=list)  # closed, settled days counted now: to keep
    kept_days: int = 0


def fingerprints(first: date, last: date) -> dict[date, Fingerprint]:
    """Each London day's fingerprint from ``first`` to ``last`` (days with contacts only), from the index."""
    return _fingerprints(Contact.accepted_day.between(first, last))


def _fingerprints(where) -> dict[date, Fingerprint]:
    rows = db.session.execute(
        select(Contact.accepted_day, func.count(), func.sum(Contact.version),
               func.sum(func.coalesce(Contact.latest_decision_id, 0)), func.sum(func.coalesce(Contact.latest_review_id, 0)),
               func.max(Contact.decision_due_at), func.max(Contact.first_review_due_at))
        .where(where).group_by(Contact.accepted_day))
    prints = {}
    for day, n, versions, decisions, reviews, due, review_due in rows:
        deadlines = [d for d in (due, review_due) if d is not None]
        prints[day] = Fingerprint((int(n), int(versions or 0), int(decisions), int(reviews)),
                                  max(deadlines) if deadlines else None)
    return prints


def summarised(first: date, last: date, now: datetime, *, layout: str, grouped: Query, criteria: Query,
               read: Callable[[dict], object], use: bool = True) -> Summarised:
    """Each day's figures and the MARAC combinations: kept days from ``dashboard_days``, the rest counted.

    ``grouped(where)`` and ``criteria(where)`` count the contacts ``where`` picks, by London day;
    ``read(figures)`` is a day's figures as the caller uses them (made once per worker for a kept
    day). ``use=False`` counts every day from the contacts and keeps nothing (the reference answer).
    """
    if not use:
        window = Contact.accepted_day.between(first, last)
        return Summarised(days={day: read(figures) for day, figures in grouped(window).items()},
                          criteria=_combinations(criteria(window)))
    today = london_date(now)
    closed = min(last, today - timedelta(days=1))
    usable = db.session.execute(
        select(*_KEY_COLUMNS).where(DashboardDay.day.between(first, closed), DashboardDay.layout == layout,
                                    DashboardDay.touched == 0,
                                    or_(DashboardDay.deadline.is_(None), DashboardDay.deadline < now))
        .order_by(DashboardDay.day)).all()
    result = Summarised(kept_days=len(usable))
    for day, (counts, combinations) in _kept_figures(usable, layout, read).items():
        result.days[day] = counts
        result.criteria.update(combinations)
    gaps = [Contact.accepted_day.between(start, end) for start, end in _gaps(first, closed, [r.day for r in usable])]
    if gaps or closed < last:
        prints = _fingerprints(or_(*gaps)) if gaps else {}  # read before the counts: never newer than them
        window = or_(*gaps, Contact.accepted_day.between(max(first, today), last))
        fresh, combinations = grouped(window), criteria(window)
        result.days.update((day, read(figures)) for day, figures in fresh.items())
        result.criteria.update(_combinations(combinations))
        result.pending = _to_keep(prints, now, layout, fresh, combinations)
    return result


def _gaps(first: date, closed: date, kept: list[date]) -> list[tuple[date, date]]:
    """The runs of days from ``first`` to ``closed`` that ``kept`` (in order) does not answer for.

    Counted as ranges of the index, so a year with one changed day scans that day and the recent
    days, not the year.
    """
    runs, start = [], first
    for day in kept:
        if day > start:
            runs.append((start, day - timedelta(days=1)))
        start = day + timedelta(days=1)
    if start <= closed:
        runs.append((start, closed))
    return runs


#: A kept day's row as judged: which day, the fingerprint it was counted at, and when (not its figures;
#: the time as the driver gives it, only ever compared: a year's 366 read as datetimes cost a millisecond).
_KEY_COLUMNS = (DashboardDay.day, DashboardDay.contacts, DashboardDay.version_sum, DashboardDay.decisions_sum,
                DashboardDay.reviews_sum, type_coerce(DashboardDay.computed_at, String).label("computed_at"))
#: Each store's kept days' figures as this worker read them, by the row's key (``_row_key``), newest used last.
_READ: weakref.WeakKeyDictionary[Engine, OrderedDict] = weakref.WeakKeyDictionary()
#: How many kept days a worker holds read (a year is 366): some 2 KB each.
READ_DAYS_HELD = 3 * 366
#: Days read from ``dashboard_days`` in one statement (well under any store's limit on bound values).
_READ_AT_ONCE = 500


def _row_key(row, layout: str) -> tuple:
    return layout, *row[:len(_KEY_COLUMNS)]


def _kept_figures(rows: list, layout: str, read: Callable[[dict], object]) -> dict[date, tuple[object, dict]]:
    """The figures (as ``read`` makes them) and MARAC combinations of the kept days ``rows``, read once per worker.

    Why: a year's kept days are 366 JSON documents, and decoding them on every request was the
    largest cost a year has and a month does not. A kept row's figures never change while its
    key does not (a day counted again is stored with another fingerprint or time), so each
    worker holds what it has read, by key and per store, and reads from the table only the days
    it does not hold. A day stored again between the two reads is taken as stored then, under
    its new key: figures newer than those judged, never older.
    """
    held = _READ.setdefault(db.engine, OrderedDict())
    found, missing = {}, []
    for row in rows:
        key = _row_key(row, layout)
        if key in held:
            held.move_to_end(key)
            found[row.day] = held[key]
        else:
            missing.append(row.day)
    for start in range(0, len(missing), _READ_AT_ONCE):
        for row in db.session.execute(
                select(*_KEY_COLUMNS, DashboardDay.counts, DashboardDay.criteria)
                .where(DashboardDay.day.in_(missing[start:start + _READ_AT_ONCE]), DashboardDay.layout == layout)):
            found[row.day] = held[_row_key(row, layout)] = (read(row.counts), row.criteria)
    while len(held) > READ_DAYS_HELD:
        held.popitem(last=False)
    return found


def _combinations(per_day: dict[date, dict[str, int]]) -> Counter[str]:
    met: Counter[str] = Counter()
    for combinations in per_day.values():
        met.update(combinations)
    return met


def _to_keep(prints: dict[date, Fingerprint], now: datetime, layout: str,
             fresh: dict[date, dict], combinations: dict[date, dict[str, int]]) -> list[dict]:
    """The closed days just counted whose deadlines are all past, as ``dashboard_days`` rows."""
    return [{"day": day, "layout": layout, "contacts": mark.key[0], "version_sum": mark.key[1],
             "decisions_sum": mark.key[2], "reviews_sum": mark.key[3], "deadline": mark.deadline,
             "counts": fresh[day], "criteria": combinations.get(day, {}), "touched": 0, "computed_at": utcnow()}
            for day, mark in sorted(prints.items()) if mark.settled(now) and day in fresh]


def store(pending: list[dict]) -> int:
    """Keep ``pending`` days (an upsert: two requests keeping the same day both succeed); how many were kept.

    From a read-only request it writes in a short transaction of its own (``txn.writing``), after
    the answer has been read, then reads the days' fingerprints again and touches any that moved
    while they were counted (the module's docstring says why). A failure to keep them (a lock held
    too long) loses nothing but the time saved next time, so it is logged and the answer stands.
    """
    if not pending:
        return 0
    table = DashboardDay.__table__
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.day], set_={c.name: statement.excluded[c.name] for c in table.c if c.name != "day"})
    try:
        with txn.writing():
            db.session.execute(statement, pending)  # in day order: concurrent upserts lock rows in the same order
            txn.commit_keeping_loaded()
        current = _fingerprints(Contact.accepted_day.in_([row["day"] for row in pending]))
        moved = [row["day"] for row in pending if row["day"] not in current or current[row["day"]].key !=
                 (row["contacts"], row["version_sum"], row["decisions_sum"], row["reviews_sum"])]
        if moved:
            with txn.writing():
                db.session.execute(update(DashboardDay).where(DashboardDay.day.in_(moved))
                                   .values(touched=DashboardDay.touched + 1))
                txn.commit_keeping_loaded()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("dashboard day summaries not kept (%s); they will be counted again", type(exc).__name__)
        return 0
    return len(pending) - len(moved)


def clear() -> int:
    """Empty ``dashboard_days`` (every day is counted again, and kept again, on the next dashboard)."""
    removed = db.session.execute(DashboardDay.__table__.delete()).rowcount
    db.session.commit()
    return removed
