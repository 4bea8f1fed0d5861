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


@pytest.mark.parametrize("level_urgency", [{4: "red", 3: "amber"}, {3: "red", 4: "red"}, {}])
def test_the_red_reviews_counted_are_those_the_review_queue_calls_red(app, people, level_urgency):
    """Every rating (or none) with every decided level, one contact each: the home's count of red
    reviews (index ranges, ``red_review_ranges``) is what ``review_urgency`` says, one by one."""
    from types import SimpleNamespace

    from sqlalchemy import select, union_all, update

    from tests.factories import contact_payload
    from triage.engine.guidance_config import LEVELS, URGENCIES
    from triage.extensions import db
    from triage.record.paging import count
    from triage.record.tables import Contact, User
    from triage.services.intake import submit

    with app.app_context():
        practitioner = db.session.get(User, people["practitioner"].id)
        manager = db.session.get(User, people["manager"].id)
        red = []
        for urgency in (*URGENCIES, None):
            for level in LEVELS:
                stored, _ = submit(contact_payload(partner_reference=f"RED-{urgency}-{level}"), practitioner,
                                   app.extensions["recommender"])
                db.session.execute(update(Contact).where(Contact.id == stored.id).values(
                    status="awaiting_review", urgency=urgency, latest_decision_level=level,
                    latest_decided_by_id=practitioner.id, latest_decided_at=NOW))
                db.session.commit()
                if queues.review_urgency(stored, SimpleNamespace(level=level), level_urgency) == "red":
                    red.append(stored.id)
        ranges = union_all(*(select(Contact.id).where(Contact.latest_decided_by_id != manager.id, part)
                             for part in queues.red_review_ranges(level_urgency)))
        assert sorted(db.session.scalars(ranges)) == sorted(red)
        assert count(ranges) == len(red) >= 4  # red by its own rating, whatever the level
        by_case = select(Contact.id).where(Contact.status == "awaiting_review",
                                           queues.review_urgency_order(level_urgency) == 0)
        assert sorted(db.session.scalars(by_case)) == sorted(red)  # the queue's own order agrees


def test_the_red_reviews_are_counted_by_seeks_not_by_reading_every_review(app, people):
    """At 200,000 contacts, comparing each decision's CASE expression read all 40,000 awaiting review
    to count 3,898 red ones (20 ms on SQLite; 1.1 ms as ranges)."""
    from sqlalchemy import select

    from tests.plans import explained
    from triage.extensions import db
    from triage.record.tables import User

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's plan (PostgreSQL chooses by its statistics)")
        manager = db.session.scalar(select(User).where(User.id == people["manager"].id))
        plans = [plan for statement, plan in explained(
            lambda: queues.manager_summary(manager, NOW, level_urgency={4: "red"})).items()
            if statement.startswith("SELECT count(*)") and "UNION ALL" in statement]
    assert len(plans) == 1
    searches = plans[0].split("SEARCH")[1:]
    assert len(searches) == 4, plans[0]  # red by rating; amber, green and no rating at level 4
    for search in searches:
        assert "ix_contacts_review_order (status=? AND urgency=?" in search, plans[0]
