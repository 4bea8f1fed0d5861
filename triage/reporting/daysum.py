"""Per-day summaries of the dashboard's counts, so a year costs about what a month does (issue 15 finding 5).

Why: the dashboard's grouped counts of a year read every contact of the year (an index range
scan of some 40,000 entries at a large council's volume) on every request, though almost every
day of the year is closed and will not change. Here each closed London day's counts are kept in
``dashboard_days`` once counted, and read back while the day is unchanged; only changed days,
days not yet kept and the days from today on are counted from the contacts.

Unchanged is judged by the day's fingerprint, read from an index (``ix_contacts_daysum``): how
many contacts, and the sums of their versions, latest decision ids and latest review ids. Each
only ever grows: contacts are never deleted; every change to a contact through the service moves
its version (the optimistic lock, ``Contact.version``, also kept by the batch loader); a decision
or review is a new row with a higher id that the contact points at (``keep_latest``), which moves
the sums even where the status does not change. So a day whose contacts changed in any way the
dashboard counts never shows the fingerprint it was counted at, and, as the fingerprint is read
before the counts, counts stored beside a fingerprint are never older than it (on PostgreSQL each
statement reads its own snapshot).

A window's kept days are judged together first (``_unchanged_settled_days``): as every part of
a fingerprint only grows, the window's totals equal the kept days' totals only when none of them
changed, so one ungrouped sum stands for a year of day-by-day comparisons, and only the recent
days after them are judged one by one (all of them when the totals differ).

Two counts depend on "now" (undecided past the deadline, unreviewed past the deadline). A day's
counts are kept, and used, only once every deadline of its contacts (``deadline``, the latest) is
before "now": from then on they no longer change with "now"; until then the day is counted live.

What is kept is the day's figures as the dashboard folds them (``dashboard._by_day``: its total
of every count, each source's and each model's) and the day's MARAC criteria combinations, the
same whether they were kept or counted now
(``tests/reporting/test_daysum.py`` compares the two). Changing what a count means needs a new
``dashboard.SUMMARY_LAYOUT`` (rows of another layout are counted again); a migration that changes
contacts' counted columns without moving their version must empty the table.
"""

from __future__ import annotations

import logging
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, func, or_, select
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

    days: dict[date, dict] = field(default_factory=dict)  # each London day's figures (``dashboard._by_day``)
    criteria: Counter[str] = field(default_factory=Counter)
    pending: list[dict] = field(default_factory=list)  # closed, settled days counted now: to keep
    kept_days: int = 0


def fingerprints(first: date, last: date) -> dict[date, Fingerprint]:
    """Each London day's fingerprint from ``first`` to ``last`` (days with contacts only), from the index."""
    rows = db.session.execute(
        select(Contact.accepted_day, func.count(), func.sum(Contact.version),
               func.sum(func.coalesce(Contact.latest_decision_id, 0)), func.sum(func.coalesce(Contact.latest_review_id, 0)),
               func.max(Contact.decision_due_at), func.max(Contact.first_review_due_at))
        .where(Contact.accepted_day >= first, Contact.accepted_day <= last).group_by(Contact.accepted_day))
    prints = {}
    for day, n, versions, decisions, reviews, due, review_due in rows:
        deadlines = [d for d in (due, review_due) if d is not None]
        prints[day] = Fingerprint((int(n), int(versions or 0), int(decisions), int(reviews)),
                                  max(deadlines) if deadlines else None)
    return prints


def summarised(first: date, last: date, now: datetime, *, layout: str, grouped: Query, criteria: Query,
               use: bool = True) -> Summarised:
    """Each day's figures and the MARAC combinations: kept days from ``dashboard_days``, the rest counted.

    ``grouped(where)`` and ``criteria(where)`` count the contacts ``where`` picks, by London day.
    ``use=False`` counts every day from the contacts and keeps nothing (the reference answer).
    """
    if not use:
        window = Contact.accepted_day.between(first, last)
        return Summarised(days=grouped(window), criteria=_combinations(criteria(window)))
    today = london_date(now)
    closed = min(last, today - timedelta(days=1))
    stored = {row.day: row for row in db.session.execute(
        select(*_KEY_COLUMNS).where(DashboardDay.day.between(first, closed), DashboardDay.layout == layout))}
    settled = _unchanged_settled_days(first, stored, now)
    used, live = list(settled), []
    after = max(settled, default=first - timedelta(days=1)) + timedelta(days=1)
    prints = fingerprints(after, closed) if after <= closed else {}
    for day, mark in sorted(prints.items()):
        kept = stored.get(day)
        if kept is not None and mark.settled(now) and \
                (kept.contacts, kept.version_sum, kept.decisions_sum, kept.reviews_sum) == mark.key:
            used.append(day)
        else:
            live.append(day)
    result = Summarised(kept_days=len(used))
    for day, (counts, combinations) in _kept_figures([stored[day] for day in used], layout).items():
        result.days[day] = counts
        result.criteria.update(combinations)
    if not used:
        window = Contact.accepted_day.between(first, last)  # nothing kept: one range scan
    else:
        window = or_(Contact.accepted_day.in_(live), Contact.accepted_day.between(max(first, today), last))
    if live or closed < last:
        fresh, combinations = grouped(window), criteria(window)
        result.days.update(fresh)
        result.criteria.update(_combinations(combinations))
        result.pending = _to_keep(live, prints, now, layout, fresh, combinations)
    return result


#: A kept day's row as judged: which day, the fingerprint it was counted at, and when (not its figures).
_KEY_COLUMNS = (DashboardDay.day, DashboardDay.contacts, DashboardDay.version_sum, DashboardDay.decisions_sum,
                DashboardDay.reviews_sum, DashboardDay.deadline, DashboardDay.computed_at)
#: Each store's kept days' figures as this worker read them, by the row's key (``_row_key``), newest used last.
_READ: weakref.WeakKeyDictionary[Engine, OrderedDict] = weakref.WeakKeyDictionary()
#: How many kept days a worker holds read (a year is 366): some 2 KB each.
READ_DAYS_HELD = 3 * 366
#: Days read from ``dashboard_days`` in one statement (well under any store's limit on bound values).
_READ_AT_ONCE = 500


def _row_key(row, layout: str) -> tuple:
    return (row.day, layout, row.contacts, row.version_sum, row.decisions_sum, row.reviews_sum, row.deadline,
            row.computed_at)


def _kept_figures(rows: list, layout: str) -> dict[date, tuple[dict, dict]]:
    """The figures and MARAC combinations of the kept days ``rows`` (``_KEY_COLUMNS``), read once per worker.

    Why: a year's kept days are 366 JSON documents, and decoding them on every request was the
    largest cost a year has and a month does not. A kept row's figures never change while its
    key does not (a day counted again is stored with another fingerprint or time), so each
    worker holds what it has read, by key and per store, and reads from the table only the days
    it does not hold. A day stored again between the two reads is taken as stored then, under
    its new key: figures newer than those judged, never older (as ever on PostgreSQL, where each
    statement reads its own snapshot).
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
            found[row.day] = held[_row_key(row, layout)] = (row.counts, row.criteria)
    while len(held) > READ_DAYS_HELD:
        held.popitem(last=False)
    return found


def _unchanged_settled_days(first: date, stored: dict, now: datetime) -> list[date]:
    """The kept days from ``first`` up to the first kept day still unsettled, when none of them changed.

    Why: judging a year day by day reads every contact's fingerprint grouped by day, the largest
    part of a kept year's cost. Every part of a fingerprint only grows, so the window's totals
    (one ungrouped sum over the same index) equal the kept days' totals only when no kept day
    changed and no day without a kept summary has a contact: then every kept day stands, and
    only the days after them (the recent ones, whose deadlines are still to come) are judged
    one by one. When the totals differ (a correction to an old contact), this returns nothing
    and every day is judged one by one, as before.
    """
    span = []
    for day in sorted(stored):
        row = stored[day]
        if row.deadline is not None and row.deadline >= now:
            break
        span.append(day)
    if not span:
        return []
    kept = tuple(sum(column) for column in zip(*((stored[day].contacts, stored[day].version_sum,
                                                  stored[day].decisions_sum, stored[day].reviews_sum)
                                                 for day in span), strict=True))
    found = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Contact.version), 0),
               func.coalesce(func.sum(func.coalesce(Contact.latest_decision_id, 0)), 0),
               func.coalesce(func.sum(func.coalesce(Contact.latest_review_id, 0)), 0))
        .where(Contact.accepted_day >= first, Contact.accepted_day <= span[-1])).one()
    return span if tuple(int(n) for n in found) == kept else []


def _combinations(per_day: dict[date, dict[str, int]]) -> Counter[str]:
    met: Counter[str] = Counter()
    for combinations in per_day.values():
        met.update(combinations)
    return met


def _to_keep(live: list[date], prints: dict[date, Fingerprint], now: datetime, layout: str,
             fresh: dict[date, dict], combinations: dict[date, dict[str, int]]) -> list[dict]:
    """The closed days just counted whose deadlines are all past, as ``dashboard_days`` rows."""
    return [{"day": day, "layout": layout, "contacts": prints[day].key[0], "version_sum": prints[day].key[1],
             "decisions_sum": prints[day].key[2], "reviews_sum": prints[day].key[3], "deadline": prints[day].deadline,
             "counts": fresh[day], "criteria": combinations.get(day, {}), "computed_at": utcnow()}
            for day in live if prints[day].settled(now) and day in fresh]


def store(pending: list[dict]) -> int:
    """Keep ``pending`` days (an upsert: two requests keeping the same day both succeed); how many were kept.

    From a read-only request it writes in a short transaction of its own (``txn.writing``), after
    the answer has been read. A failure to keep them (a lock held too long) loses nothing but the
    time saved next time, so it is logged and the answer stands.
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
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("dashboard day summaries not kept (%s); they will be counted again", type(exc).__name__)
        return 0
    return len(pending)


def clear() -> int:
    """Empty ``dashboard_days`` (every day is counted again, and kept again, on the next dashboard)."""
    removed = db.session.execute(DashboardDay.__table__.delete()).rowcount
    db.session.commit()
    return removed
