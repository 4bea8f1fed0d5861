"""Migration 0027 makes SQLite's ``export_contacts`` a ``WITHOUT ROWID`` table: every stored list kept, and it comes down again.

(SQLite only: PostgreSQL has no such kind of table, and the migration changes nothing there.)
"""

from __future__ import annotations

import pytest
from flask_migrate import downgrade
from sqlalchemy import create_engine, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DatabaseError
from sqlalchemy.schema import CreateTable

from tests.record.test_migration_0003 import _to
from triage.app import MIGRATIONS, create_app
from triage.extensions import db
from triage.record.tables import ExportContact

LISTED = [("e-1", 0, "c-b"), ("e-1", 1, "c-a"), ("e-2", 0, "c-a")]


def _table_sql(url: str) -> tuple[str, list[tuple]]:
    """The stored table's CREATE statement and its rows, checking on the way that it is still append-only."""
    engine = create_engine(url)
    with engine.connect() as conn:
        sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'export_contacts'")).scalar_one()
        rows = conn.execute(text("SELECT export_id, position, contact_id FROM export_contacts "
                                 "ORDER BY export_id, position")).all()
        for statement in ("DELETE FROM export_contacts", "UPDATE export_contacts SET position = 9"):
            with pytest.raises(DatabaseError, match="append-only"):
                conn.execute(text(statement))
    engine.dispose()
    return sql, [tuple(row) for row in rows]


def lists_stored_at(url: str, revision: str) -> None:
    """A store migrated to ``revision`` (one whose lists are keyed by export id) holding ``LISTED``."""
    _to(url, revision)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO export_contacts (export_id, position, contact_id) VALUES (:e, :p, :c)"),
                     [{"e": e, "p": p, "c": c} for e, p, c in LISTED])
    engine.dispose()


def test_every_stored_list_is_kept_in_one_b_tree_down_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    lists_stored_at(url, "0026_export_lists_by_contact")

    _to(url, "0027_export_lists_without_rowid")
    sql, rows = _table_sql(url)
    assert sql.endswith("WITHOUT ROWID") and rows == LISTED

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="0026_export_lists_by_contact")
        db.engine.dispose()
    sql, rows = _table_sql(url)
    assert "WITHOUT ROWID" not in sql and rows == LISTED


def test_the_model_makes_the_same_kind_of_table():
    """The models say what 0027 made, so that a store made from them (``create_all``) is the same kind of table."""
    assert str(CreateTable(ExportContact.__table__).compile(dialect=sqlite.dialect())).strip().endswith("WITHOUT ROWID")
