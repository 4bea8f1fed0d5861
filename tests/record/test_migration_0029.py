"""Migration 0029 keys each stored export list by a list number: every list kept in its order, and it comes down again."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DatabaseError

from tests.record.test_migration_0003 import _down, _to
from tests.record.test_migration_0027 import LISTED, lists_stored_at


def _refuses_change(conn, table: str) -> None:
    for statement in (f"DELETE FROM {table}", f"UPDATE {table} SET position = 9" if table == "export_contacts"
                      else f"UPDATE {table} SET export_id = 'x'"):
        with pytest.raises(DatabaseError, match="append-only"):
            conn.execute(text(statement))


def test_each_list_is_kept_under_its_number_append_only_and_comes_down_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    lists_stored_at(url, "0028_contact_indexes_pruned")
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

    _down(url, "0028_contact_indexes_pruned")
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT export_id, position, contact_id FROM export_contacts "
                                 "ORDER BY export_id, position")).all()
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'export_lists'")).all()
        _refuses_change(conn, "export_contacts")
    engine.dispose()
    assert [tuple(row) for row in rows] == LISTED and tables == []
