"""Migration 0028 drops the three indexes of ``contacts`` that another index or no query already covers, and brings them back down."""

from __future__ import annotations

from flask_migrate import downgrade
from sqlalchemy import create_engine, inspect

from tests.record.test_migration_0003 import _to
from triage.app import MIGRATIONS, create_app
from triage.extensions import db

PRUNED = {"ix_contacts_received_at", "ix_contacts_organisation_id", "ix_contacts_primary_concern"}


def _index_names(url: str) -> set[str]:
    engine = create_engine(url)
    names = {index["name"] for index in inspect(engine).get_indexes("contacts")}
    engine.dispose()
    return names


def test_each_intake_writes_three_indexes_fewer_and_the_source_index_stays(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _to(url, "0027_export_lists_without_rowid")
    before = _index_names(url)
    assert before >= PRUNED

    _to(url, "0028_contact_indexes_pruned")
    after = _index_names(url)
    assert after == before - PRUNED
    assert {"ix_contacts_source_code", "ix_contacts_received_id", "ix_contacts_org_received_id"} <= after

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="0027_export_lists_without_rowid")
        db.engine.dispose()
    assert _index_names(url) == before
