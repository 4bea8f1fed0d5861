"""Migration 0014 widens the queue index to cover a queue's first pass, and comes down again.

Upgraded, the store has the covering indexes the queues read (``ix_contacts_queue_order``, which
starts with the old ``(status, decision_due_at)`` and so replaces ``ix_contacts_status_due``, as
``(status, accepted_at)`` replaces ``ix_contacts_status``;
``ix_contacts_review_order``; ``ix_contacts_latest_decision``); downgraded to 0013, it has the old
index back and none of the new. (SQLite: the PostgreSQL suite runs the chain on its own database.)
"""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.record.test_migration_0003 import _to
from triage.app import MIGRATIONS, create_app
from triage.extensions import db

NEW = {"ix_contacts_queue_order", "ix_contacts_review_order", "ix_contacts_latest_decision", "ix_contacts_org_accepted",
       "ix_contacts_status_accepted"}
OLD = {"ix_contacts_status_due", "ix_contacts_status"}


def _indexes(url: str) -> set[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
    engine.dispose()
    return found


def test_the_queue_indexes_go_up_and_come_down(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _to(url, "0014_queue_order")
    upgraded = _indexes(url)
    assert upgraded >= NEW and not OLD & upgraded
    from flask_migrate import downgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="0013_marac_criteria")
        db.engine.dispose()
    downgraded = _indexes(url)
    assert downgraded >= OLD and not NEW & downgraded
