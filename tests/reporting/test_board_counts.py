"""The board pack counted by the database is the pack over every contact (issue 19 item 2).

``board_pack.board_pack`` over ``board_pack.load`` (every contact of the periods as Python rows,
each figure counted in plain Python and checked by hand in test_board_pack.py) is the definition;
``board_counts.board_pack_for`` (SQL aggregates) must give exactly the same pack.

Two stores: the demo (two board periods, checks asked and answered, a month's quality audit),
and the calendar store of test_partner_report.py (clocks changing, bank holidays, late
notifications over weekends and Easter, contacts decided twice and changed on review, one child
on several contacts and linked records) with checks and audit findings added of every kind: a
check answered on time, answered late, unanswered past its due time and not yet due; two audits
of one contact (the latest counts), inappropriate and appropriate referrals, every grade.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tests.reporting.test_partner_report import at, calendar_store  # noqa: F401 - the fixture
from triage.engine.workdays import london_date
from triage.extensions import db
from triage.record.tables import (
    AuditAssignment,
    AuditFinding,
    AuditSample,
    CheckRequest,
    CheckResponse,
    Contact,
    Decision,
    User,
)
from triage.reporting import board_counts, board_pack
from triage.services import demo
from triage.services.decisions import new_decision


def reference(first: date, now: datetime) -> dict:
    spans = board_pack.periods(first)
    return board_pack.board_pack(board_pack.load(spans[0], spans[-1]), first, now)


def _check(contact_id: str, user: int, agency: str, asked: str, due: str, answered: str | None = None,
           late: bool = False) -> None:
    row = CheckRequest(contact_id=contact_id, agency=agency, why="why", reason="reason", consent="obtained",
                       due_at=at(due), requested_by_id=user, requested_at=at(asked))
    db.session.add(row)
    db.session.flush()
    if answered:
        db.session.add(CheckResponse(check_id=row.id, known=False, findings=[], late=late, answered_by_id=user,
                                     answered_at=at(answered)))


@pytest.fixture
def checked_and_audited(app, calendar_store):  # noqa: F811 - the fixture imported above
    """The calendar store with checks of every state and audit findings of every kind."""
    ids = calendar_store
    with app.app_context():
        # The calendar store moves each contact's clock after intake; its London day (set on insert) follows.
        for contact in db.session.scalars(select(Contact)):
            contact.accepted_day = london_date(contact.accepted_at)
        # information gaps of every kind: none listed (unassessed), an empty list, one gap, two
        for n, contact_id in enumerate(ids):
            contact = db.session.get(Contact, contact_id)
            if contact.recommendation is not None and n % 4:
                gaps = [{"field": "consent"}, {"field": "children[0].date_of_birth"}][: n % 4 - 1]
                contact.recommendation = {**contact.recommendation, "information_gaps": gaps}
        user = db.session.scalar(select(User.id).where(User.role == "manager"))
        _check(ids[10], user, "police", "2026-06-15T10:00", "2026-06-16T10:00", "2026-06-15T15:00")
        _check(ids[10], user, "health", "2026-06-15T10:00", "2026-06-16T10:00", "2026-06-18T15:00", late=True)
        _check(ids[11], user, "health", "2026-06-22T10:00", "2026-06-23T10:00")  # past due, unanswered
        _check(ids[15], user, "education", "2026-11-04T10:00", "2099-01-01T10:00")  # not yet due: left out
        _check(ids[16], user, "police", "2026-11-10T09:00", "2026-11-11T09:00", "2026-11-10T12:00")
        _check(ids[0], user, "police", "2026-03-30T17:00", "2026-03-31T17:00", "2026-04-02T09:00", late=True)
        sample = AuditSample(month="2026-10", seed=1, per_practitioner=1, drawn_by_id=user)
        db.session.add(sample)
        db.session.flush()
        grades = ["good", "outstanding", "requires_improvement", "inadequate", "good", "inadequate"]
        decisions = db.session.execute(select(Decision.id, Decision.contact_id, Decision.level)
                                       .where(Decision.contact_id.in_(ids)).order_by(Decision.id)).all()
        for n, (decision_id, contact_id, level) in enumerate(decisions[:: 2]):
            assignment = AuditAssignment(sample_id=sample.id, contact_id=contact_id, decision_id=decision_id,
                                         strata=[], auditor_id=user)
            db.session.add(assignment)
            db.session.flush()
            db.session.add(AuditFinding(assignment_id=assignment.id, contact_id=contact_id,
                                        level=(level - 1 if n % 3 == 0 else level) or 1,
                                        grade=grades[n % len(grades)], learning="-", audited_by_id=user))
        # a contact with a correcting decision (as the batch loader stores one), both decisions audited:
        # the latest finding counts
        twice = db.session.get(Contact, ids[5])
        worker = db.session.scalar(select(User).where(User.role == "practitioner"))
        again = new_decision(twice, worker, level=4, rationale="Decided again: the police called with new information about the household.",
                             override_reason="The police called with new information about the household.",
                             corrects=db.session.get(Decision, twice.latest_decision_id))
        db.session.add(again)
        db.session.flush()
        twice.latest_decision_id = again.id
        twice = twice.id
        db.session.flush()
        decisions = db.session.execute(select(Decision.id, Decision.contact_id, Decision.level)
                                       .where(Decision.contact_id.in_(ids)).order_by(Decision.id)).all()
        audited = {a.decision_id for a in db.session.scalars(select(AuditAssignment))}
        for decision_id, contact_id, _level in decisions:
            if contact_id == twice and decision_id not in audited:
                assignment = AuditAssignment(sample_id=sample.id, contact_id=contact_id, decision_id=decision_id,
                                             strata=[], auditor_id=user)
                db.session.add(assignment)
                db.session.flush()
                db.session.add(AuditFinding(assignment_id=assignment.id, contact_id=contact_id, level=1,
                                            grade="inadequate", learning="-", audited_by_id=user))
        db.session.commit()
    return ids


FIRSTS = (date(2026, 11, 2), date(2026, 9, 1), date(2026, 6, 8), date(2026, 4, 1), date(2026, 12, 20))


def test_the_pack_counted_by_the_database_is_the_pack_over_every_contact(app, checked_and_audited):
    now = at("2026-11-20T12:00")
    with app.app_context():
        packs = []
        for first in FIRSTS:
            expected = reference(first, now)
            assert board_counts.board_pack_for(first, now) == expected, first
            packs.append(expected)
        # the store reaches every figure: none of these is nothing in every pack
        seen = {f["key"] for p in packs for f in p["figures"] if any(pt["of"] for pt in f["points"])}
        assert seen == {key for key, *_ in board_pack.SHARES}
        assert any(f["key"] == "rereferrals" and any(pt["count"] for pt in f["points"])
                   for p in packs for f in p["figures"])
        assert any(f["key"] == "late_notifications" and any(pt["count"] for pt in f["points"])
                   for p in packs for f in p["figures"])
        assert any(row["values"] for p in packs for row in p["tables"]["checks_by_agency"]["rows"])


def test_the_pack_on_the_demo_is_the_pack_over_every_contact(app):
    now = datetime.now(timezone.utc)
    with app.app_context():
        demo.seed(app.extensions["recommender"], count=30, now=now)
        assert db.session.scalar(select(AuditFinding.id).limit(1)) is not None
        assert db.session.scalar(select(CheckResponse.id).limit(1)) is not None
        today = london_date(now)
        for back in (board_pack.PERIOD_DAYS, board_pack.PERIOD_DAYS - 1, 60, 100):
            first = today - timedelta(days=back)
            assert board_counts.board_pack_for(first, now) == reference(first, now), back


def test_the_pack_reads_no_contact_as_an_object(app, checked_and_audited):
    """Counted by the database: no ``Contact`` or ``Decision`` is loaded into the session."""
    with app.app_context():
        db.session.expunge_all()
        board_counts.board_pack_for(date(2026, 11, 2), at("2026-11-20T12:00"))
        loaded = [obj for obj in db.session.identity_map.values() if isinstance(obj, (Contact, Decision))]
        assert loaded == []
