"""Time left and overdue, in seconds and in words."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from triage.services import queues

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "less than a minute"),
        (59, "less than a minute"),
        (60, "1 minute"),
        (3600 + 5 * 60, "1 hour 5 minutes"),
        (2 * 86400 + 3 * 3600 + 59, "2 days 3 hours"),
        (86400 + 7 * 60, "1 day 7 minutes"),
        (-7200, "2 hours"),
    ],
)
def test_duration_text(seconds, text):
    assert queues.duration_text(seconds) == text


def test_time_left_before_and_after_the_deadline():
    assert queues.time_left(NOW + timedelta(hours=3, minutes=20), NOW) == {
        "seconds_left": 12000, "overdue": False, "text": "3 hours 20 minutes left"}
    assert queues.time_left(NOW - timedelta(days=1, hours=2), NOW) == {
        "seconds_left": -93600, "overdue": True, "text": "overdue by 1 day 2 hours"}
    assert queues.time_left(None, NOW)["text"] == "no deadline"


def test_a_decision_compared_with_its_deadline():
    assert queues.decided_against_deadline(NOW, NOW - timedelta(hours=2))["text"] == \
        "decided 2 hours before the deadline"
    late = queues.decided_against_deadline(NOW, NOW + timedelta(minutes=90))
    assert late == {"seconds_left": -5400, "overdue": True, "text": "decided 1 hour 30 minutes after the deadline"}


def test_a_managers_overdue_reviews_are_counted_from_the_index_alone(app, people):
    """Who decided is in ``ix_contacts_reviews_due`` (migration 0023): at 200,000 contacts, reading each
    overdue review's row to see who decided it took 117 ms of a manager's home (1.5 ms from the index)."""
    from sqlalchemy import select

    from tests.plans import sqlite_plans
    from triage.extensions import db
    from triage.record.tables import User

    with app.app_context():
        manager = db.session.scalar(select(User).where(User.id == people["manager"].id))
        plans = sqlite_plans(lambda: queues.manager_summary(manager, NOW), "latest_decided_at <")
    assert plans
    for plan in plans:
        assert "COVERING INDEX ix_contacts_reviews_due" in plan, plan
