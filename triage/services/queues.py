"""The front door's work queues: what to decide next, what is late, what awaits oversight.

Ordered the way the team works a morning: the most urgent first (red, amber, green, then
anything unscored last within its deadline), and within an urgency the earliest deadline.
Every item carries its time left (or how late it is) in seconds and in words, measured
against the one-working-day deadline, so a page never has to do date arithmetic. Items are
``QueueItem`` rows holding the stored contact and decision (datetimes, not text): the JSON API
formats them, the pages show them as they are.

Every queue is read a page at a time (``record/paging.py``: keyset pages, an opaque cursor to
the next), with its children, organisation and decision-maker loaded with the page, and counted
over the queue's own rows (an index on status), never the whole table, and no further than one
past ``COUNT_LIMIT`` (a page says "more than 10,000"; the API's ``count_capped``). Each queue's order is
written once, in the ``*_ORDER`` constants below: the API, the pages and their page links all
follow them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Select, and_, case, func, literal, select, true, union_all
from sqlalchemy.orm import joinedload, selectinload

from triage.engine.guidance_config import LEVELS, URGENCIES, UrgencyRule
from triage.engine.workdays import london_date, london_days
from triage.extensions import db
from triage.record.paging import (
    COUNT_LIMIT,
    DEFAULT_PER_PAGE,
    Ordering,
    Page,
    Part,
    count,
    keyset,
    keyset_merged,
    rows_in_order,
    split,
)
from triage.record.queries import LISTED_CONTACTS
from triage.record.tables import CheckRequest, CheckResponse, Contact, Decision, User, UTCDateTime, utcnow
from triage.record.workflow import Status
from triage.services.timeliness import review_due

POLICE = "6"
DOMESTIC_ABUSE = "domestic_abuse"
UNDECIDED = (Status.AWAITING_DECISION, Status.INFO_REQUESTED)
#: Not yet decided, wherever it waits: the decision deadline runs on while agencies are asked.
NOT_DECIDED = (*UNDECIDED, Status.CHECKS_REQUESTED)
_URGENCY_RANK = {u: i for i, u in enumerate(URGENCIES)}
_URGENCY_ORDER = case(_URGENCY_RANK, value=Contact.urgency, else_=len(URGENCIES))
#: Sort keys are never NULL (keyset pages compare them): a contact with no deadline sorts as the far future.
_FAR_TIME = datetime(9999, 12, 31, tzinfo=timezone.utc)
_FAR = literal(_FAR_TIME, UTCDateTime)
_DUE = func.coalesce(Contact.decision_due_at, _FAR)
#: Each contact's soonest unanswered check (the awaiting-checks queue's clock).
_OPEN_CHECKS = (select(CheckRequest.contact_id, func.min(CheckRequest.due_at).label("soonest"))
                .outerjoin(CheckResponse, CheckResponse.check_id == CheckRequest.id)
                .where(CheckResponse.id.is_(None)).group_by(CheckRequest.contact_id).subquery())
_SOONEST_CHECK = func.coalesce(_OPEN_CHECKS.c.soonest, Contact.decision_due_at, _FAR)

# ---------------------------------------------------------------------------------------------
# Each queue's order, in one place. ``(expression, descending)``, the last key unique.
# ---------------------------------------------------------------------------------------------

#: Awaiting decision (and the police domestic-abuse list): most urgent first, then earliest deadline.
AWAITING_DECISION_ORDER = Ordering("awaiting-decision", (
    (_URGENCY_ORDER, False), (_DUE, False), (Contact.accepted_at, False), (Contact.id, False)))
#: Overdue: the longest overdue first, then the most urgent (then the earliest accepted).
OVERDUE_ORDER = Ordering("overdue", ((_DUE, False), (_URGENCY_ORDER, False), (Contact.accepted_at, False),
                                     (Contact.id, False)))
#: Awaiting checks: the soonest unanswered check (or the decision deadline) first.
AWAITING_CHECKS_ORDER = Ordering("awaiting-checks", ((_SOONEST_CHECK, False), (Contact.id, False)))
#: Reviews overdue: the oldest decision (so the longest overdue review) first (``ix_contacts_reviews_due``).
REVIEWS_OVERDUE_ORDER = Ordering("reviews-overdue", ((Contact.latest_decided_at, False), (Contact.id, False)))
#: Decided today: the newest decision first.
DECIDED_TODAY_ORDER = Ordering("decided-today", ((Decision.decided_at, True), (Decision.id, True)))


def level_urgencies(rules: Sequence[UrgencyRule]) -> dict[int, str]:
    """The urgency the guidance gives a level on its own (its ``levels:`` rules): {4: "red", 3: "amber"}."""
    out: dict[int, str] = {}
    for rule in rules:
        if rule.when is None and rule.levels:
            for level in rule.levels:
                out.setdefault(level, rule.urgency)
    return out


def _level_ranks(level_urgency: Mapping[int, str] | None) -> dict[int, int]:
    """Each level's place in the urgency order, from ``level_urgencies`` of the guidance (levels it gives none: left out)."""
    return {level: _URGENCY_RANK[u] for level, u in (level_urgency or {}).items() if u in _URGENCY_RANK}


def review_urgency_order(level_urgency: Mapping[int, str] | None):
    """The review queue's urgency key: the more urgent of the contact's own rating and its decided level's.

    A decision at child protection is red in the review queue even when the contact came in green,
    so a manager sees it before early-help decisions; ``level_urgency`` is ``level_urgencies`` of
    the guidance (empty: the contact's own rating only).
    """
    by_level = _level_ranks(level_urgency)
    if not by_level:
        return _URGENCY_ORDER
    decided = case(by_level, value=Contact.latest_decision_level, else_=len(URGENCIES))
    return case((decided < _URGENCY_ORDER, decided), else_=_URGENCY_ORDER)


def review_urgency(contact: Contact, decision: Decision | None, level_urgency: Mapping[int, str] | None) -> str | None:
    """The same key in Python, for the tag a page shows beside the decision."""
    ranked = [u for u in (contact.urgency, (level_urgency or {}).get(decision.level) if decision else None)
              if u in _URGENCY_RANK]
    return min(ranked, key=_URGENCY_RANK.__getitem__) if ranked else contact.urgency


def awaiting_review_order(level_urgency: Mapping[int, str] | None = None) -> Ordering:
    """Awaiting review: the most urgent first (``review_urgency_order``), then the oldest decision
    (so the review due soonest), read in parts (``_review_parts``)."""
    return Ordering("awaiting-review", ((review_urgency_order(level_urgency), False),
                                        (Contact.latest_decided_at, False), (Contact.id, False)))


def duration_text(seconds: float) -> str:
    """'2 days 3 hours', '1 hour 5 minutes', '12 minutes': the two largest units, no more."""
    minutes = int(abs(seconds)) // 60
    if minutes == 0:
        return "less than a minute"
    parts = []
    for size, unit in ((24 * 60, "day"), (60, "hour"), (1, "minute")):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts[:2])


def time_left(due: datetime | None, now: datetime) -> dict:
    """Time until the deadline (negative seconds when overdue), with the words to show."""
    if due is None:
        return {"seconds_left": None, "overdue": False, "text": "no deadline"}
    seconds = int((due - now).total_seconds())
    text = f"overdue by {duration_text(seconds)}" if seconds < 0 else f"{duration_text(seconds)} left"
    return {"seconds_left": seconds, "overdue": seconds < 0, "text": text}


def decided_against_deadline(due: datetime | None, decided_at: datetime) -> dict:
    """How the decision's time compared with the deadline, in seconds and words."""
    if due is None:
        return {"seconds_left": None, "overdue": False, "text": "no deadline"}
    seconds = int((due - decided_at).total_seconds())
    when = "after" if seconds < 0 else "before"
    return {"seconds_left": seconds, "overdue": seconds < 0,
            "text": f"decided {duration_text(seconds)} {when} the deadline"}


@dataclass(frozen=True)
class QueueItem:
    """One queue entry: the stored contact, its time left and, in the review queues, its latest decision."""

    contact: Contact
    time: dict
    decision: Decision | None = None
    #: In the awaiting-checks queue: every check asked on the contact.
    checks: tuple[CheckRequest, ...] = ()

    @property
    def review_due_at(self) -> datetime | None:
        """When the manager's review of the decision is due (one working day after it)."""
        return review_due(self.decision.decided_at) if self.decision is not None else None


#: ... with the latest decision and who made it (the review queues and decided-today).
_DECISIONS = (LISTED_CONTACTS.add_columns(Decision).join(Decision, Decision.id == Contact.latest_decision_id)
              .options(joinedload(Decision.decided_by)))


def _count(ids: Select, up_to: int | None = None) -> int:
    """How many rows the queue holds, counted over its ids (an index on status; no ordering, no page);
    with ``up_to``, counted to one past it and no further."""
    return count(ids, up_to=up_to)


def _page(query: Select, ordering: Ordering, cursor: str | None, per_page: int,
          load: Select = LISTED_CONTACTS, parts: Sequence[Part] | None = None,
          counted: bool = True) -> tuple[list, str | None, int | None]:
    """One page of ``query``'s rows, in two passes: the page's ids in order, then those rows by ``load``.

    Why two: a queue's order (urgency, then deadline) is an expression no index returns in order,
    so the database sorts every row of the queue to find the first page, unless the queue is read
    in ``parts`` (``keyset_merged``), each an index range already in order. Sorting the ids and sort
    keys alone reads an index (``ix_contacts_queue_order``, ``ix_contacts_review_order``); sorting
    whole contacts read every waiting contact's row, JSON included, which made a backlog of 60,000
    cost 0.4 s at 200,000 contacts. The second pass loads only the page's contacts, by id alone (with
    the queue's filter too, SQLite read the waiting contacts by status instead of 50 by id). The
    whole queue is counted too, up to ``COUNT_LIMIT`` (a backlog of 60,000 counted whole cost its
    length), unless not ``counted`` (a caller that counts it its own way).
    """
    ids = query.with_only_columns(Contact.id)
    first = keyset_merged(ids, ordering, parts, cursor, per_page) if parts else keyset(ids, ordering, cursor, per_page)
    keyed, next_cursor = split(db.session.execute(first).all(), ordering, per_page)
    rows = rows_in_order(load, Contact.id, [contact_id for (contact_id,) in keyed])
    return rows, next_cursor, _count(ids, COUNT_LIMIT) if counted else None


#: Each urgency's place in the queues' order and the condition picking it (no rating: last).
_URGENCY_PARTS = (*((rank, Contact.urgency == u) for rank, u in enumerate(URGENCIES)),
                  (len(URGENCIES), Contact.urgency.is_(None)))


def _undecided_parts(statuses: Sequence[str]) -> list[Part]:
    """``AWAITING_DECISION_ORDER`` as index ranges of ``ix_contacts_queue_order``: one per status, urgency and
    whether a deadline is set (a contact with none sorts after every deadline of its urgency)."""
    due, accepted = Contact.decision_due_at, Contact.accepted_at
    parts = []
    for status in statuses:
        for rank, urgency in _URGENCY_PARTS:
            parts.append(Part(and_(Contact.status == status, urgency, due.is_not(None)), (due, accepted, Contact.id),
                              leading=rank, start=lambda key: due >= key[1]))
            parts.append(Part(and_(Contact.status == status, urgency, due.is_(None)), (accepted, Contact.id),
                              leading=rank, start=lambda key: accepted >= key[2] if key[1] == _FAR_TIME else true()))
    return parts


def _overdue_parts(statuses: Sequence[str]) -> list[Part]:
    """``OVERDUE_ORDER`` as index ranges: one per status and urgency, each read from the oldest deadline."""
    due = Contact.decision_due_at
    return [Part(and_(Contact.status == status, urgency), (due, Contact.accepted_at, Contact.id),
                 start=lambda key: due >= key[0]) for status in statuses for _, urgency in _URGENCY_PARTS]


def _contact_queue(query: Select, ordering: Ordering, now: datetime, cursor: str | None, per_page: int,
                   parts: Sequence[Part] | None = None) -> Page:
    items, next_cursor, count = _page(query, ordering, cursor, per_page, parts=parts)
    return Page([QueueItem(c, time_left(c.decision_due_at, now)) for (c,) in items], next_cursor, count, COUNT_LIMIT)


def awaiting_decision(now: datetime | None = None, cursor: str | None = None, per_page: int = DEFAULT_PER_PAGE,
                      *, police_da_since: datetime | None = None) -> Page:
    """Contacts with no decision yet (including those waiting on the referrer), most urgent first.

    ``police_da_since``: only the police domestic-abuse notifications the front door accepted
    since then (the daily triage with police colleagues; ``accepted_at``, not the force's own time).
    """
    now = now or utcnow()
    query = _undecided_query()
    if police_da_since is not None:
        query = query.where(Contact.source_code == POLICE, Contact.primary_concern == DOMESTIC_ABUSE,
                            Contact.accepted_at >= police_da_since)
    return _contact_queue(query, AWAITING_DECISION_ORDER, now, cursor, per_page, _undecided_parts(UNDECIDED))


def overdue(now: datetime | None = None, cursor: str | None = None, per_page: int = DEFAULT_PER_PAGE) -> Page:
    """Contacts past their decision deadline with no decision, the longest overdue first."""
    now = now or utcnow()
    return _contact_queue(_overdue_query(now), OVERDUE_ORDER, now, cursor, per_page, _overdue_parts(NOT_DECIDED))


def _undecided_query() -> Select:
    return select(Contact).where(Contact.status.in_(UNDECIDED))


def _overdue_query(now: datetime) -> Select:
    return select(Contact).where(Contact.status.in_(NOT_DECIDED), Contact.decision_due_at < now)


def awaiting_checks(now: datetime | None = None, cursor: str | None = None,
                    per_page: int = DEFAULT_PER_PAGE) -> Page:
    """Contacts waiting on agency checks, the soonest unanswered check due first.

    Each item's ``time`` is against the earliest unanswered check (or the decision deadline);
    ``checks`` holds every check asked, so a reader sees which agencies are overdue.
    """
    now = now or utcnow()
    query = (select(Contact).outerjoin(_OPEN_CHECKS, _OPEN_CHECKS.c.contact_id == Contact.id)
             .where(Contact.status == Status.CHECKS_REQUESTED))
    items, next_cursor, count = _page(query, AWAITING_CHECKS_ORDER, cursor, per_page)
    asked: dict[str, list[CheckRequest]] = {c.id: [] for (c,) in items}
    if asked:
        for row in db.session.scalars(select(CheckRequest).where(CheckRequest.contact_id.in_(list(asked)))
                                      .options(selectinload(CheckRequest.response)).order_by(CheckRequest.id)):
            asked[row.contact_id].append(row)
    out = []
    for (contact,) in items:
        rows = tuple(asked[contact.id])
        soonest = min((r.due_at for r in rows if r.response is None), default=contact.decision_due_at)
        out.append(QueueItem(contact, time_left(soonest, now), checks=rows))
    return Page(out, next_cursor, count, COUNT_LIMIT)


def _awaiting_review_query(*conditions) -> Select:
    """Contacts awaiting review, filtered and ordered by their latest decision's facts kept on the contact;
    the page's decisions are loaded with the page (``_DECISIONS``)."""
    return select(Contact).where(Contact.status == Status.AWAITING_REVIEW, *conditions)


def _review_parts(level_urgency: Mapping[int, str] | None) -> list[Part]:
    """``awaiting_review_order`` as index ranges of ``ix_contacts_review_order``: one per urgency and decided
    level, each read oldest decision first; its place in the order is the more urgent of the two.

    Every contact awaiting review has a decided level (``keep_latest`` writes it with the status
    change), so there is no part for none: PostgreSQL, whose statistics see the many undecided
    contacts with none, read such a part through another index, all 40,000 waiting at 200,000.
    """
    by_level = _level_ranks(level_urgency)
    decided_at = Contact.latest_decided_at
    return [Part(and_(Contact.status == Status.AWAITING_REVIEW, urgency, Contact.latest_decision_level == level),
                 (decided_at, Contact.id), leading=min(rank, by_level.get(level, len(URGENCIES))),
                 start=lambda key: decided_at >= key[1])
            for rank, urgency in _URGENCY_PARTS for level in LEVELS]


def red_review_ranges(level_urgency: Mapping[int, str] | None) -> list:
    """Awaiting review and red (``review_urgency_order``), as ranges of ``ix_contacts_review_order``.

    Red by the contact's own rating (any decided level), or by a decided level the guidance makes
    red (any other rating). Compared as the CASE expression, which no index holds, counting the red
    reviews for a manager's home read every decision awaiting review: 40,000 at 200,000 contacts,
    to find 3,898 (20 ms on SQLite, 16 ms on PostgreSQL). As one OR of these ranges, both still
    read the whole status. Read one after another (``UNION ALL``), each range is a seek: 1.1 ms
    on SQLite and 3.4 ms on PostgreSQL (medians of 15).
    """
    red = _URGENCY_RANK["red"]
    levels = [level for level, rank in _level_ranks(level_urgency).items() if rank == red]
    waiting = Contact.status == Status.AWAITING_REVIEW
    by_level = [and_(waiting, other, Contact.latest_decision_level.in_(levels)) for rank, other in _URGENCY_PARTS
                if rank != red] if levels else []
    return [and_(waiting, Contact.urgency == URGENCIES[red]), *by_level]


def _review_item(contact: Contact, decision: Decision, now: datetime) -> QueueItem:
    """A decision awaiting review, timed against the review's own deadline (not the decision's)."""
    return QueueItem(contact, time_left(review_due(decision.decided_at), now), decision)


def _review_queue(query: Select, ordering: Ordering, now: datetime, cursor: str | None, per_page: int,
                  parts: Sequence[Part] | None = None, counted: bool = True) -> Page:
    items, next_cursor, total = _page(query, ordering, cursor, per_page, _DECISIONS, parts, counted)
    return Page([_review_item(c, d, now) for c, d in items], next_cursor, total, COUNT_LIMIT)


def awaiting_review(user: User, now: datetime | None = None, cursor: str | None = None,
                    per_page: int = DEFAULT_PER_PAGE, *, level_urgency: Mapping[int, str] | None = None,
                    counted: bool = True) -> Page:
    """For a manager: decisions they may review (never their own), most urgent first, then the review due soonest.

    Urgency is the contact's own or its decided level's, whichever is higher (``level_urgency``:
    ``level_urgencies`` of the guidance).

    For a practitioner: their own decisions still waiting for a manager, so they can see what
    has not yet had oversight. Each item's time is left until the review is due, one working
    day after the decision. Not ``counted``: the page's ``total`` is its own length (a caller that
    counts the queue its own way).
    """
    now = now or utcnow()
    return _review_queue(_reviews_for(user), awaiting_review_order(level_urgency), now, cursor, per_page,
                         _review_parts(level_urgency), counted)


def _reviews_for(user: User) -> Select:
    """``awaiting_review``'s contacts: a manager's to review (never their own), a practitioner's own decisions."""
    return _awaiting_review_query(_whose_reviews(user))


def _whose_reviews(user: User):
    mine = Contact.latest_decided_by_id == user.id
    return ~mine if user.role == "manager" else mine


@dataclass(frozen=True)
class ManagerSummary:
    """What a manager's home counts: every item of each queue (up to ``limit``), never the length of one page of it.

    A count past ``limit`` stopped one past it (``paging.count(up_to=)``): "more than 10,000" says
    as much to a manager as the exact number, and counting a backlog whole cost its length (five
    counts of 40,000-60,000 entries each at 200,000 contacts).
    """

    limit: int  # counts stop one past this
    reviews: int  # decisions this manager may review
    red_reviews: int  # of which red: the contact's own urgency or its decided level's (``review_urgency``)
    reviews_overdue: int  # of which past the review's deadline
    next_review: QueueItem | None  # the first of the review queue
    undecided: int  # contacts awaiting a decision
    decisions_overdue: int  # contacts past the decision deadline, wherever they wait


def manager_summary(user: User, now: datetime | None = None, *,
                    level_urgency: Mapping[int, str] | None = None) -> ManagerSummary:
    """The counts of a manager's home, each over its whole queue, and the one decision to review next.

    Counted, not listed: the home used to take the length of each queue's first page, so on a store
    of 40,000 contacts 12,000 awaiting decision showed as 50, and overdue and red reviews were
    counted among the first 50 only.
    """
    now = now or utcnow()
    first = awaiting_review(user, now, None, 1, level_urgency=level_urgency, counted=False)
    reviews = _reviews_for(user).with_only_columns(Contact.id)
    limit = COUNT_LIMIT
    return ManagerSummary(
        limit=limit,
        reviews=_count(reviews, limit),
        red_reviews=_count(union_all(*(select(Contact.id).where(_whose_reviews(user), red)
                                       for red in red_review_ranges(level_urgency))), limit),
        reviews_overdue=_count(reviews.where(_review_overdue(now)), limit),
        next_review=first[0] if first else None,
        undecided=_count(_undecided_query().with_only_columns(Contact.id), limit),
        decisions_overdue=_count(_overdue_query(now).with_only_columns(Contact.id), limit),
    )


#: A review is due one working day after its decision: never sooner than 23 hours (a clock change),
#: never later than this (Christmas and a weekend): decisions older than this are all overdue.
_REVIEW_DUE_AT_MOST = timedelta(days=10)
_REVIEW_DUE_AT_LEAST = timedelta(hours=23)


def _review_overdue(now: datetime):
    """The condition "review past due" on the latest decision's time, in SQL.

    ``review_due`` (working days, bank holidays) only grows with ``decided_at``, so the overdue
    decisions are exactly those up to a cutoff. Only the few decisions near it (the last ten
    days) are timed in Python to find it.
    """
    decided_at = Contact.latest_decided_at
    near = db.session.scalars(
        select(decided_at).where(Contact.status == Status.AWAITING_REVIEW, decided_at >= now - _REVIEW_DUE_AT_MOST,
                                 decided_at <= now - _REVIEW_DUE_AT_LEAST)
    ).all()
    late = [when for when in near if review_due(when) < now]
    return decided_at <= max(late) if late else decided_at < now - _REVIEW_DUE_AT_MOST


def reviews_overdue(now: datetime | None = None, cursor: str | None = None,
                    per_page: int = DEFAULT_PER_PAGE) -> Page:
    """Decisions still awaiting a manager's review after it was due, longest overdue first.

    The team's view of late oversight, whoever made the decision: the inspection found
    management oversight often late, and nobody could see which decisions were waiting.
    """
    now = now or utcnow()
    return _review_queue(_awaiting_review_query(_review_overdue(now)), REVIEWS_OVERDUE_ORDER, now, cursor, per_page)


def decided_today(now: datetime | None = None, cursor: str | None = None,
                  per_page: int = DEFAULT_PER_PAGE) -> Page:
    """Contacts whose decision was recorded today (London), newest first, with how it met the deadline."""
    now = now or utcnow()
    today = london_date(now)
    start, end = london_days(today, today)
    query = (select(Contact, Decision).join(Decision, Decision.id == Contact.latest_decision_id)
             .where(Decision.decided_at >= start, Decision.decided_at < end))
    items, next_cursor, count = _page(query, DECIDED_TODAY_ORDER, cursor, per_page, _DECISIONS)
    return Page([QueueItem(c, decided_against_deadline(c.decision_due_at, d.decided_at), d) for c, d in items],
                next_cursor, count, COUNT_LIMIT)
