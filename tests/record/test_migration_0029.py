"""Migration 0029 keys each stored export list by a list number: every list kept in its order, and it comes down again."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DatabaseError

from tests.record.test_migration_0003 import _to
from triage.app import MIGRATIONS, create_app
from triage.extensions import db

LISTED = [("e-1", 0, "c-b"), ("e-1", 1, "c-a"), ("e-2", 0, "c-a")]


def _refuses_change(conn, table: str) -> None:
    for statement in (f"DELETE FROM {table}", f"UPDATE {table} SET position = 9" if table == "export_contacts"
                      else f"UPDATE {table} SET export_id = 'x'"):
        with pytest.raises(DatabaseError, match="append-only"):
            conn.execute(text(statement))


def test_each_list_is_kept_under_its_number_append_only_and_comes_down_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _to(url, "0028_contact_indexes_pruned")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO export_contacts (export_id, position, contact_id) VALUES (:e, :p, :c)"),
                     [{"e": e, "p": p, "c": c} for e, p, c in LISTED])
    engine.dispose()

    _to(url, "0029_export_list_numbers")
    engine = create_engine(url)
    with engine.connect() as conn:
        numbers = dict(conn.execute(text("SELECT export_id, id FROM export_lists")).all())
        rows = conn.execute(text("SELECT l.export_id, c.position, c.contact_id FROM export_contacts c "
                                 "JOIN export_lists l ON l.id = c.list_id ORDER BY l.export_id, c.position")).all()
        sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'export_contacts'")).scalar_one()
        _refuses_change(conn, "export_contacts")
        _refuses_change(conn, "export_lists")
    engine.dispose()
    assert sorted(numbers) == ["e-1", "e-2"] and len(set(numbers.values())) == 2
    assert [tuple(row) for row in rows] == LISTED
    assert "list_id INTEGER" in sql and sql.endswith("WITHOUT ROWID")

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="0028_contact_indexes_pruned")
        db.engine.dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT export_id, position, contact_id FROM export_contacts "
                                 "ORDER BY export_id, position")).all()
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'export_lists'")).all()
        _refuses_change(conn, "export_contacts")
    engine.dispose()
    assert [tuple(row) for row in rows] == LISTED and tables == []
