"""The store the migrations build is the store the models describe, and it refuses what the models refuse.

Production stores are built by the migrations, never from the models, so a column, index or rule
added to a model without its migration would exist in every test's reasoning and in no council's
database. Alembic's own comparison finds any such difference. SQLite cannot make
``contacts.accepted_at`` NOT NULL in place (migration 0025): there a trigger holds the rule, and
that is the one difference allowed.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from triage.app import MIGRATIONS
from triage.extensions import db
from triage.record.tables import Child, ChildRecord, Contact, Organisation, User

#: What SQLite holds by trigger, not by the column's own NOT NULL (migration 0025).
SQLITE_BY_TRIGGER = {("modify_nullable", "contacts", "accepted_at")}


def _differences(connection) -> set[tuple]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    found = set()
    for diff in compare_metadata(context, db.metadata):
        change = diff[0] if isinstance(diff, list) else diff  # column changes come as lists of one
        found.add((change[0], change[2], change[3]) if change[0] == "modify_nullable" else (change[0], repr(change[1])))
    return found


def test_the_migrated_store_has_every_table_column_index_and_key_the_models_have(app):
    with app.app_context():
        connection = db.session.connection()
        allowed = SQLITE_BY_TRIGGER if connection.dialect.name == "sqlite" else set()
        assert _differences(connection) == allowed


NOW = datetime(2026, 12, 6, 9, tzinfo=timezone.utc)


def _contact(cid: str, accepted_at: datetime | None) -> Contact:
    return Contact(id=cid, organisation_id=7, partner_reference=cid, source_code="6", primary_concern="neglect",
                   received_at=NOW, accepted_at=accepted_at, status="awaiting_decision", payload={}, created_by_id=1)


@pytest.fixture
def stored_contact(app):
    """One organisation, one person, one contact: what a child row must point at."""
    with app.app_context():
        db.session.add(Organisation(id=7, name="Demo Police"))
        db.session.add(User(id=1, email="m@x.invalid", role="manager"))
        db.session.flush()
        db.session.add(_contact("c-1", NOW))
        db.session.commit()
    return app


def test_a_contact_whose_clock_never_started_is_refused_by_the_store(stored_contact):
    with stored_contact.app_context():
        db.session.add(_contact("c-2", None))
        with pytest.raises(IntegrityError, match="accepted_at"):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(IntegrityError, match="accepted_at"):
            db.session.execute(text("UPDATE contacts SET accepted_at = NULL WHERE id = 'c-1'"))
        db.session.rollback()
        assert db.session.execute(text("SELECT count(*) FROM contacts WHERE accepted_at IS NOT NULL")).scalar() == 1


def _child(child_id: str | None) -> Child:
    return Child(contact_id="c-1", position=0, child_reference="C1", child_id=child_id)


@pytest.mark.parametrize("child_id", [None, "no-such-record"], ids=["no record", "an unknown record"])
def test_a_child_tied_to_no_child_record_is_refused_by_the_store(stored_contact, child_id):
    with stored_contact.app_context():
        db.session.add(_child(child_id))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        db.session.add(ChildRecord(id="r-1"))
        db.session.flush()
        db.session.add(_child("r-1"))  # the same child, tied to a record, is stored
        db.session.commit()
        assert db.session.execute(text("SELECT child_id FROM children")).scalars().all() == ["r-1"]


def test_every_revision_id_fits_the_column_postgresql_keeps_it_in():
    """``alembic_version.version_num`` is VARCHAR(32): a longer id upgrades SQLite and fails on PostgreSQL."""
    revisions = [script.revision for script in ScriptDirectory(MIGRATIONS).walk_revisions()]
    assert len(revisions) >= 27
    assert [revision for revision in revisions if len(revision) > 32] == []
