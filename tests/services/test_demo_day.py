"""The demo day's times agree with each other (issue 15 item 10).

Each contact's history starts when it reached the front door, a decision follows the contact by
hours, a review follows the decision and feedback follows the review, none of it after the
moment the demo was seeded, and the decisions are spread over the day (not all at the seed time).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from triage.record import audit
from triage.record.tables import CheckResponse, Contact, Decision, Event, FeedbackRelease, Review

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)  # a Wednesday morning


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def test_a_seeded_demo_day_tells_one_consistent_story(app):
    from triage.extensions import db
    from triage.services.demo import seed

    with app.app_context():
        seed(app.extensions["recommender"], count=20, now=NOW)
        decisions = db.session.scalars(select(Decision)).all()
        assert len(decisions) >= 5
        for contact in db.session.scalars(select(Contact)):
            events = db.session.scalars(select(Event).where(Event.contact_id == contact.id).order_by(Event.seq)).all()
            times = [_utc(e.at) for e in events]
            assert times == sorted(times), (contact.partner_reference, [(e.kind, e.at) for e in events])
            assert times[0] == _utc(contact.accepted_at), contact.partner_reference  # "received" when it reached us
            assert all(t <= NOW for t in times), (contact.partner_reference, [(e.kind, e.at) for e in events if _utc(e.at) > NOW])
        for decision in decisions:
            contact = db.session.get(Contact, decision.contact_id)
            assert _utc(contact.accepted_at) < _utc(decision.decided_at) <= NOW
        for review in db.session.scalars(select(Review)):
            decision = db.session.get(Decision, review.decision_id)
            assert _utc(decision.decided_at) < _utc(review.reviewed_at) <= NOW
        for release in db.session.scalars(select(FeedbackRelease)):
            reviewed = max(_utc(r.reviewed_at) for r in db.session.scalars(
                select(Review).where(Review.contact_id == release.contact_id)))
            assert reviewed < _utc(release.released_at) <= NOW
        assert len({d.decided_at for d in decisions}) == len(decisions)  # spread, not all at the seed time
        assert audit.verify().ok


@pytest.mark.parametrize("now", [
    datetime(2026, 12, 4, 0, 10, tzinfo=timezone.utc),  # just after midnight: nothing has arrived "today" yet
    datetime(2026, 12, 7, 0, 20, tzinfo=timezone.utc),  # a Monday: the window reaches back to Friday morning
    datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc),
    datetime(2026, 12, 2, 23, 50, tzinfo=timezone.utc),
], ids=["friday-00:10", "monday-00:20", "wednesday-09:30", "wednesday-23:50"])
def test_the_demo_has_decided_work_and_a_queue_with_checks_whatever_the_hour(app, now):
    from triage.extensions import db
    from triage.services.demo import seed

    with app.app_context():
        seed(app.extensions["recommender"], count=30, now=now, rhythms=False)
        waiting = db.session.scalar(select(func.count()).select_from(Contact).where(
            Contact.status.in_(("awaiting_decision", "checks_requested"))))
        assert waiting >= 30 // 3
        assert db.session.scalar(select(func.count()).select_from(Decision)) >= 5
        assert db.session.scalar(select(func.count()).select_from(CheckResponse)) >= 1
