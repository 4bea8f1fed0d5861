"""Migration 0016 fills in, for the record already stored, what the partner's and the manager's feedback lists read.

A store brought down to 0015 (the columns gone) and up again has each release's organisation
copied from its contact, and each contact's ``feedback_waiting_since`` as the old grouped query
would have found it: the latest review's time when no feedback was released since that review.
``feedback_releases`` is still append-only afterwards (the fill lifts its trigger only for itself).
(SQLite: the PostgreSQL suite runs the whole chain on its own database.)
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from flask_migrate import downgrade
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.record.test_migration_0003 import _to
from triage.app import MIGRATIONS, create_app
from triage.extensions import db
from triage.record.tables import Contact, Decision, FeedbackRelease, Organisation, Review, User


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 4, hour, minute, tzinfo=timezone.utc)


#: Each contact's reviews and releases (times), and when it is waiting for its feedback to be released.
HISTORY = {
    "released": ([at(9)], [at(9, 30)], None),
    "reviewed-only": ([at(10)], [], at(10)),
    "changed-after-release": ([at(8), at(11)], [at(8, 30)], at(11)),
    "decided-only": ([], [], None),
}


def _store(url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.session.add(Organisation(id=7, name="Demo Police"))
        db.session.add(User(id=1, email="m@x.invalid", role="manager"))
        db.session.flush()
        for cid, (reviewed, released, _) in HISTORY.items():
            db.session.add(Contact(id=cid, organisation_id=7, partner_reference=cid, source_code="6",
                                   primary_concern="neglect", received_at=at(7), accepted_at=at(7), status="decided",
                                   payload={}, recommended_level=2, created_by_id=1))
            decision = Decision(contact_id=cid, level=2, rationale="r", decided_by_id=1, decided_at=at(7, 30))
            db.session.add(decision)
            db.session.flush()
            for when in reviewed:
                db.session.add(Review(contact_id=cid, decision_id=decision.id, outcome="confirmed", level=2,
                                      rationale="r", reviewed_by_id=1, reviewed_at=when))
            for when in released:
                db.session.add(FeedbackRelease(contact_id=cid, content={"level": 2}, released_by_id=1,
                                               released_at=when))
        db.session.commit()
        downgrade(directory=MIGRATIONS, revision="0015_daysum_dashboard_days")
        db.engine.dispose()


def test_the_feedback_lists_columns_are_filled_in_and_releases_stay_append_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _to(url, "head")  # the models are the head's: stored there, then taken down to 0015
    _store(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert "organisation_id" not in {r[1] for r in conn.execute(text("PRAGMA table_info(feedback_releases)"))}
    engine.dispose()

    _to(url, "head")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        assert {r.organisation_id for r in db.session.query(FeedbackRelease)} == {7}
        waiting = {c.id: c.feedback_waiting_since for c in db.session.query(Contact)}
        assert waiting == {cid: expected for cid, (_, _, expected) in HISTORY.items()}
        db.engine.dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        indexes = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
        assert {"ix_feedback_releases_org_newest", "ix_contacts_feedback_waiting"} <= indexes
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("UPDATE feedback_releases SET organisation_id = 2"))
    engine.dispose()
