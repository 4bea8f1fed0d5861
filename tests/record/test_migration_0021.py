"""Migration 0021 names, on each release, the release of the same contact it replaced, and comes down again.

A store brought down to 0020 (the column gone) and up again has, on a contact released three
times, each release naming the one before it, and nothing on a first release; the append-only
table still refuses an update afterwards. (SQLite: the PostgreSQL suite runs the whole chain on
its own database.)
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from flask_migrate import downgrade
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from tests.record.test_migration_0003 import _to
from tests.record.test_migration_0018 import _columns
from triage.app import MIGRATIONS, create_app
from triage.extensions import db
from triage.record.tables import Contact, FeedbackRelease, Organisation, User


def at(hour: int) -> datetime:
    return datetime(2026, 12, 4, hour, tzinfo=timezone.utc)


def test_each_release_names_the_one_it_replaced(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _to(url, "head")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.session.add(Organisation(id=7, name="Demo Police"))
        db.session.add(User(id=1, email="m@x.invalid", role="manager"))
        db.session.flush()
        for cid in ("corrected", "once"):
            db.session.add(Contact(id=cid, organisation_id=7, partner_reference=cid, source_code="6",
                                   primary_concern="neglect", received_at=at(7), accepted_at=at(7),
                                   status="decided", payload={}, created_by_id=1))
        db.session.flush()
        for hour, cid in ((8, "corrected"), (9, "once"), (10, "corrected"), (11, "corrected")):
            db.session.add(FeedbackRelease(contact_id=cid, content={"level": 2}, released_by_id=1,
                                           released_at=at(hour), supersedes_id=None))
            db.session.flush()
        db.session.commit()
        downgrade(directory=MIGRATIONS, revision="0020_queue_parts")
        db.engine.dispose()
    columns, indexes = _columns(url, "feedback_releases")
    assert "supersedes_id" not in columns and "ix_feedback_releases_supersedes" not in indexes

    _to(url, "head")
    columns, indexes = _columns(url, "feedback_releases")
    assert "supersedes_id" in columns and "ix_feedback_releases_supersedes" in indexes
    with app.app_context():
        rows = [(r.contact_id, r.id, r.supersedes_id) for r in db.session.query(FeedbackRelease).order_by("id")]
        with pytest.raises(DatabaseError):  # still append-only
            db.session.execute(text("UPDATE feedback_releases SET supersedes_id = NULL"))
        db.session.rollback()
        db.engine.dispose()
    assert rows == [("corrected", 1, None), ("once", 2, None), ("corrected", 3, 1), ("corrected", 4, 3)]
