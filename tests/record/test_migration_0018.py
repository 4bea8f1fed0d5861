"""Migration 0018 copies each contact's latest decision's level, time and maker beside it, and comes down again.

A store brought down to 0017 (the columns gone) and up again has, on every decided contact, the
facts of the decision ``latest_decision_id`` names (a correction's, not the first's), and none on
a contact never decided; the review queues' indexes are there. (SQLite: the PostgreSQL suite runs
the whole chain on its own database.)
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask_migrate import downgrade
from sqlalchemy import create_engine, text

from tests.record.test_migration_0003 import _to
from triage.app import MIGRATIONS, create_app
from triage.extensions import db
from triage.record.tables import Contact, Decision, Organisation, User

FACTS = ("latest_decision_level", "latest_decided_at", "latest_decided_by_id")
INDEXES = {"ix_contacts_review_order", "ix_contacts_reviews_due"}


def at(hour: int) -> datetime:
    return datetime(2026, 12, 4, hour, tzinfo=timezone.utc)


def _columns(url: str, table: str = "contacts") -> tuple[set[str], set[str]]:
    """The table's columns and every index of the SQLite store at ``url``."""
    engine = create_engine(url)
    with engine.connect() as conn:
        columns = {r[1] for r in conn.execute(text(f"PRAGMA table_info({table})"))}
        indexes = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
    engine.dispose()
    return columns, indexes


def test_the_latest_decisions_facts_are_copied_onto_each_contact(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _to(url, "head")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.session.add(Organisation(id=7, name="Demo Police"))
        db.session.add_all([User(id=1, email="p@x.invalid", role="practitioner"),
                            User(id=2, email="q@x.invalid", role="practitioner")])
        db.session.flush()
        for cid in ("corrected", "undecided"):
            db.session.add(Contact(id=cid, organisation_id=7, partner_reference=cid, source_code="6",
                                   primary_concern="neglect", received_at=at(7), accepted_at=at(7),
                                   status="awaiting_review", payload={}, created_by_id=1))
        db.session.flush()
        first = Decision(contact_id="corrected", level=2, rationale="r", decided_by_id=1, decided_at=at(8))
        db.session.add(first)
        db.session.flush()
        latest = Decision(contact_id="corrected", level=4, rationale="r", decided_by_id=2, decided_at=at(9),
                          corrects_id=first.id)
        db.session.add(latest)
        db.session.flush()
        db.session.get(Contact, "corrected").latest_decision_id = latest.id
        db.session.commit()
        downgrade(directory=MIGRATIONS, revision="0017_waiting_by_status")
        db.engine.dispose()
    columns, indexes = _columns(url)
    assert not set(FACTS) & columns and "ix_contacts_reviews_due" not in indexes

    _to(url, "head")
    columns, indexes = _columns(url)
    assert columns >= set(FACTS) and indexes >= INDEXES
    with app.app_context():
        facts = {c.id: tuple(getattr(c, name) for name in FACTS) for c in db.session.query(Contact)}
        db.engine.dispose()
    assert facts == {"corrected": (4, at(9), 2), "undecided": (None, None, None)}
