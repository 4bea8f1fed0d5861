"""Timeliness in working hours, from the stored timestamps."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.decision_support import decide, pin, review, submit
from triage.engine.workdays import add_working_days
from triage.extensions import db
from triage.record.tables import Contact
from triage.services import timeliness


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def test_friday_afternoon_to_monday_morning_is_one_working_hour():
    received = utc("2026-11-20T16:30:00+00:00")  # a Friday (GMT)
    decided = utc("2026-11-23T09:30:00+00:00")  # the Monday
    reviewed = utc("2026-11-23T13:00:00+00:00")
    measured = timeliness.measure(received, add_working_days(received, 1), decided, reviewed)
    assert measured.hours_to_decision == 1.0
    assert measured.hours_decision_to_review == 3.5
    assert measured.decided_on_time is True


def test_late_decision_and_missing_steps():
    received = utc("2026-11-18T10:00:00+00:00")
    due = add_working_days(received, 1)
    late = timeliness.measure(received, due, utc("2026-11-20T10:00:00+00:00"), None)
    assert late.decided_on_time is False and late.hours_to_decision == 16.0
    assert late.hours_decision_to_review is None
    waiting = timeliness.measure(received, due, None, None)
    assert (waiting.hours_to_decision, waiting.decided_on_time) == (None, None)


def test_as_json_gives_rfc3339_times():
    received = utc("2026-11-18T10:00:00+00:00")
    doc = timeliness.measure(received, add_working_days(received, 1), None, None).as_json()
    assert doc["accepted_at"] == "2026-11-18T10:00:00Z" and doc["decision_due_at"] == "2026-11-19T10:00:00Z"


def test_for_contact_uses_the_stored_decision_and_review(app, client, people):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["practitioner"])  # a call taken on Friday 20 November 2026 at 08:05
    assert decide(client, people["practitioner"], contact_id).status_code == 201
    assert review(client, people["manager"], contact_id).status_code == 201
    with app.app_context():
        measured = timeliness.for_contact(db.session.get(Contact, contact_id))
        assert measured.decided_at is not None and measured.reviewed_at >= measured.decided_at
        assert measured.hours_decision_to_review >= 0
        # the clock started at the call, Friday 20 November 2026 at 08:05, due on Monday at 08:05: decided later
        assert measured.decided_on_time is False
        assert measured.hours_to_decision > 8.0  # the whole of Friday's working day, and some


def test_a_review_is_due_one_working_day_after_the_decision():
    received = utc("2026-11-19T09:00:00+00:00")
    decided = utc("2026-11-20T15:00:00+00:00")  # a Friday afternoon
    on_time = timeliness.measure(received, add_working_days(received, 1), decided, utc("2026-11-23T14:59:00+00:00"))
    assert on_time.review_due_at == utc("2026-11-23T15:00:00+00:00")  # the Monday, same time
    assert on_time.reviewed_on_time is True
    late = timeliness.measure(received, add_working_days(received, 1), decided, utc("2026-11-23T15:01:00+00:00"))
    assert late.reviewed_on_time is False
    waiting = timeliness.measure(received, add_working_days(received, 1), decided, None)
    assert (waiting.review_due_at, waiting.reviewed_on_time) == (on_time.review_due_at, None)
    assert timeliness.measure(received, None, None, None).review_due_at is None
