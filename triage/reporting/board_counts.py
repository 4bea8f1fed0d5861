"""The improvement board pack counted where the data is (issue 19 item 2).

Why: ``board_pack.load`` read every contact of the four periods and the twelve months before them
(a year and a half of a large council's contacts) into Python objects with their decisions, one
chunk at a time, and ``board_pack.board_pack`` counted them there: seconds for one page, and more
the bigger the store. Here each figure is a SQL aggregate over the four periods, grouped by period:

- one grouped scan of the periods' contacts (by period, source and partner) for demand and every
  share the contact's own columns decide, on the facts kept on the contact as they happen
  (``accepted_day``, ``first_decided_at``, ``first_review_due_at``, ``gap_count``, the latest
  decision and review through ``latest_decision_id`` / ``latest_review_id``);
- checks grouped by period and agency; the audit findings (a monthly sample, so few) read as rows;
- only two things read per contact, and only for the few they concern: late notifications, which
  are working-day arithmetic with bank holidays (``timeliness.notification_delay``, the one
  definition), for contacts sent more than 22 hours after the partner recorded them (a working
  day later is never less than 23 hours, a clock change included); and the children of the
  referrals of the periods and the twelve months before, for re-referrals (a child's linked
  records are joined in memory, ``children.same_child_ids``).

``board_pack.board_pack`` over ``BoardRow``s stays the definition: the tests check that this
module gives exactly its pack on varied stores on both databases.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from triage.engine.guidance_config import REFERRAL_LEVEL
from triage.engine.workdays import london_date
from triage.extensions import db
from triage.record.tables import (
    AuditAssignment,
    AuditFinding,
    CheckRequest,
    CheckResponse,
    Child,
    Contact,
    Decision,
    Organisation,
    Review,
)
from triage.record.workflow import Status
from triage.reporting.board_pack import (
    GRADES,
    PREVIOUS,
    SHARES,
    TWELVE_MONTHS,
    Counted,
    Period,
    assemble,
    periods,
    share,
)
from triage.services.children import same_child_ids
from triage.services.timeliness import notification_delay

#: A contact sent later than this after the partner recorded it may be late; ``notification_delay`` decides.
MAYBE_LATE = timedelta(hours=22)

_decision, _review = aliased(Decision), aliased(Review)
#: The level a manager confirmed or changed on review of the latest decision, else NULL (``confirmed_level``).
_confirmed = case((and_(Contact.status == Status.DECIDED, _review.decision_id == _decision.id), _review.level))


def _count(condition) -> ColumnElement:
    """How many rows of the group meet ``condition`` (0, never NULL)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _window(spans: Sequence[Period]) -> list:
    return [Contact.accepted_day >= spans[0].first, Contact.accepted_day <= spans[-1].last]


def _bucket(spans: Sequence[Period]) -> ColumnElement:
    """Which period (0 the oldest) a contact of the window belongs to, by its London day."""
    return case(*((Contact.accepted_day >= spans[i].first, i) for i in range(len(spans) - 1, 0, -1)), else_=0)


#: Each figure's (base, hit) over one contact with its latest decision and review; ``rereferrals``,
#: ``inappropriate``, ``checks_on_time``, ``late_notifications`` and ``good_or_better`` are counted apart.
def _share_conditions() -> dict[str, tuple[ColumnElement, ColumnElement]]:
    decided = _decision.id.is_not(None)
    confirmed = _confirmed.is_not(None)
    with_rec = and_(decided, _decision.recommended_level.is_not(None))
    with_floor = and_(decided, _decision.floor_level.is_not(None))
    scored = and_(confirmed, Contact.recommended_level.is_not(None))
    reviewed = and_(Contact.first_reviewed_at.is_not(None), Contact.first_decided_at.is_not(None))
    return {
        "police_da": (Contact.id.is_not(None), and_(Contact.source_code == "6",
                                                    Contact.primary_concern == "domestic_abuse")),
        "conversion": (confirmed, _confirmed >= REFERRAL_LEVEL),
        "decisions_on_time": (decided, and_(Contact.first_decided_at.is_not(None),
                                            Contact.decision_due_at.is_not(None),
                                            Contact.first_decided_at <= Contact.decision_due_at)),
        "reviews_on_time": (reviewed, Contact.first_reviewed_at <= Contact.first_review_due_at),
        "missing_information": (Contact.gap_count.is_not(None), Contact.gap_count > 0),
        "departures": (with_rec, _decision.level != _decision.recommended_level),
        "below_floor": (with_floor, _decision.level < _decision.floor_level),
        "model_agreement": (scored, Contact.recommended_level == _confirmed),
    }


def _contact_groups(spans: Sequence[Period]) -> list:
    """One grouped scan of the periods' contacts: (period, source, partner id, contacts, base and hit per share)."""
    columns = []
    for key, (base, hit) in _share_conditions().items():
        columns += [_count(base).label(f"{key}_of"), _count(and_(base, hit)).label(key)]
    bucket = _bucket(spans)
    query = (select(bucket.label("period"), Contact.source_code, Contact.organisation_id,
                    func.count().label("contacts"), *columns)
             .select_from(Contact)
             .outerjoin(_decision, _decision.id == Contact.latest_decision_id)
             .outerjoin(_review, _review.id == Contact.latest_review_id)
             .where(*_window(spans)).group_by(bucket, Contact.source_code, Contact.organisation_id))
    return db.session.execute(query).all()


def _late(spans: Sequence[Period]) -> dict[tuple[int, int], int]:
    """Late notifications by (period, partner id): ``notification_delay`` over the few that may be late."""
    if db.engine.dialect.name == "postgresql":
        maybe = Contact.accepted_at - Contact.received_at > MAYBE_LATE
    else:  # SQLite keeps UTC text: julianday gives days
        maybe = func.julianday(Contact.accepted_at) - func.julianday(Contact.received_at) > MAYBE_LATE / timedelta(days=1)
    late: dict[tuple[int, int], int] = defaultdict(int)
    query = select(_bucket(spans), Contact.organisation_id, Contact.received_at, Contact.accepted_at).where(
        *_window(spans), maybe)
    for period, org, received, accepted in db.session.execute(query):
        if notification_delay(received, accepted) is not None:
            late[(period, org)] += 1
    return late


def _rereferrals(spans: Sequence[Period]) -> list[int]:
    """Per period, referrals about a child (or a record linked to it) referred on another contact in the 12 months before.

    Reads the referrals of the periods and the twelve months before, one row per child: contacts
    that are not referrals are passed over in the window's index. (The test is the confirmed level
    itself, not ``status = 'decided'``, which would lead SQLite to walk every decided contact
    in the store through the status index instead of the window.)
    """
    start, _ = spans[0].bounds()
    same = same_child_ids()
    confirmed = case((and_(Contact.status == Status.DECIDED, _review.decision_id == Contact.latest_decision_id),
                      _review.level))  # a review's decision exists (foreign key): no need to read it
    referrals = (select(Contact.id, Contact.accepted_at, Contact.accepted_day)
                 .join(_review, _review.id == Contact.latest_review_id)
                 .where(Contact.accepted_day >= london_date(start - TWELVE_MONTHS),
                        Contact.accepted_day <= spans[-1].last, confirmed >= REFERRAL_LEVEL).subquery())
    query = (select(referrals.c.id, referrals.c.accepted_at, referrals.c.accepted_day, Child.child_reference,
                    Child.child_id).join(Child, Child.contact_id == referrals.c.id))
    referred: dict[str, list[datetime]] = defaultdict(list)
    keys: dict[str, tuple[datetime, date, set[str]]] = {}
    for cid, accepted, day, reference, child_id in db.session.execute(query):
        key = same.get(child_id, child_id) or child_id or reference
        referred[key].append(accepted)
        keys.setdefault(cid, (accepted, day, set()))[2].add(key)
    for times in referred.values():
        times.sort()
    counts = [0] * len(spans)
    for accepted, day, child_keys in keys.values():
        period = _period_of(spans, day)
        if period is not None and any(_earlier(referred[k], accepted) for k in child_keys):
            counts[period] += 1
    return counts


def _earlier(times: list[datetime], accepted: datetime) -> bool:
    """Some time in sorted ``times`` falls in the twelve months before ``accepted``."""
    i = bisect_left(times, accepted - TWELVE_MONTHS)
    return i < len(times) and times[i] < accepted


def _period_of(spans: Sequence[Period], day: date) -> int | None:
    return next((i for i, p in enumerate(spans) if p.first <= day <= p.last), None)


def _checks(spans: Sequence[Period], now: datetime) -> dict[str, list[dict]]:
    """Checks asked on the periods' contacts, by agency: answered on time, of those answered or past due."""
    settled = or_(CheckResponse.answered_at.is_not(None), CheckRequest.due_at <= now)
    on_time = and_(CheckResponse.answered_at.is_not(None), or_(CheckResponse.late.is_(None), CheckResponse.late == false()))
    bucket = _bucket(spans)
    query = (select(bucket, CheckRequest.agency, _count(settled), _count(and_(settled, on_time)))
             .select_from(CheckRequest).join(Contact, Contact.id == CheckRequest.contact_id)
             .outerjoin(CheckResponse, CheckResponse.check_id == CheckRequest.id)
             .where(*_window(spans)).group_by(bucket, CheckRequest.agency))
    out: dict[str, list[dict]] = {}
    for period, agency, of, count in db.session.execute(query):
        out.setdefault(agency, [share(0, 0) for _ in spans])[period] = share(int(count), int(of))
    return out


def _audits(spans: Sequence[Period]) -> dict[str, list]:
    """The quality audit's latest finding on each of the periods' contacts, counted by period."""
    query = (select(AuditFinding.contact_id, _bucket(spans), Decision.level, AuditFinding.level, AuditFinding.grade)
             .join(AuditAssignment, AuditAssignment.id == AuditFinding.assignment_id)
             .join(Decision, Decision.id == AuditAssignment.decision_id)
             .join(Contact, Contact.id == AuditFinding.contact_id)
             .where(*_window(spans)).order_by(AuditFinding.id))
    latest = {cid: rest for cid, *rest in db.session.execute(query)}
    counts = {name: [0] * len(spans) for name in ("audited", "good_or_better", "referred", "inappropriate", *GRADES)}
    for period, decided, audited, grade in latest.values():
        counts["audited"][period] += 1
        counts["good_or_better"][period] += grade in ("outstanding", "good")
        if grade in GRADES:
            counts[grade][period] += 1
        if decided >= REFERRAL_LEVEL:
            counts["referred"][period] += 1
            counts["inappropriate"][period] += audited < REFERRAL_LEVEL
    return counts


def counted(first: date, now: datetime, previous: int = PREVIOUS) -> tuple[list[Period], Counted]:
    """``board_pack.Counted`` for the six weeks from ``first`` and the ``previous`` before, by the database."""
    spans = periods(first, previous)
    n = len(spans)
    names = dict(db.session.execute(select(Organisation.id, Organisation.name)).all())
    demand = [0] * n
    pairs = {key: [[0, 0] for _ in spans] for key in _share_conditions()}  # (count, of) per period
    by_source: list[dict[str, int]] = [defaultdict(int) for _ in spans]
    by_partner: list[dict[str, list[int]]] = [defaultdict(lambda: [0, 0, 0]) for _ in spans]  # contacts, missing, late
    for row in _contact_groups(spans):
        period, contacts = row.period, int(row.contacts)
        demand[period] += contacts
        by_source[period][row.source_code] += contacts
        partner = by_partner[period][names[row.organisation_id]]
        partner[0] += contacts
        partner[1] += int(row.missing_information)
        for key, pair in pairs.items():
            pair[period][0] += int(getattr(row, key))
            pair[period][1] += int(getattr(row, f"{key}_of"))
    late_total = [0] * n
    for (period, org), count in _late(spans).items():
        by_partner[period][names[org]][2] += count
        late_total[period] += count
    shares = {key: [share(count, of) for count, of in pair] for key, pair in pairs.items()}
    again = _rereferrals(spans)
    audits = _audits(spans)
    checks = _checks(spans, now)
    shares["rereferrals"] = [share(again[i], shares["conversion"][i]["count"]) for i in range(n)]
    shares["inappropriate"] = [share(audits["inappropriate"][i], audits["referred"][i]) for i in range(n)]
    shares["late_notifications"] = [share(late_total[i], demand[i]) for i in range(n)]
    shares["good_or_better"] = [share(audits["good_or_better"][i], audits["audited"][i]) for i in range(n)]
    shares["checks_on_time"] = [_sum_shares([values[i] for values in checks.values()]) for i in range(n)]
    return spans, Counted(
        demand=demand, shares={key: shares[key] for key, *_ in SHARES}, by_source=[dict(b) for b in by_source],
        missing_by_partner=[{name: share(v[1], v[0]) for name, v in b.items()} for b in by_partner],
        late_by_partner=[{name: share(v[2], v[0]) for name, v in b.items()} for b in by_partner],
        checks_by_agency=checks, grades={grade: audits[grade] for grade in GRADES})


def _sum_shares(points: list[dict]) -> dict:
    return share(sum(p["count"] for p in points), sum(p["of"] for p in points))


def board_pack_for(first: date, now: datetime, previous: int = PREVIOUS) -> dict:
    """The board pack for the six weeks from ``first``: ``board_pack.board_pack``'s answer, counted in SQL."""
    spans, counts = counted(first, now, previous)
    return assemble(spans, counts)
