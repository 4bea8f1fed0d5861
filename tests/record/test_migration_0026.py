"""Migration 0026 keys ``export_contacts`` by (export, contact): every stored list kept in its order, and it comes down again.

(SQLite, whose table is rebuilt; on PostgreSQL the key is swapped in place and the PostgreSQL
suite runs the whole chain.)
"""

from __future__ import annotations

import pytest
from flask_migrate import downgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DatabaseError

from tests.record.test_migration_0003 import _to
from triage.app import MIGRATIONS, create_app
from triage.extensions import db

#: Up to this migration and no further: 0029 keys the lists by a number instead (its own test).
AT_0026 = "0026_export_lists_by_contact"


def test_every_stored_list_is_kept_in_its_order_down_and_up_again(tmp_path):
    """Migration 0026 rebuilds SQLite's ``export_contacts`` keyed by (export, contact): each list kept, still append-only."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _to(url, "0025_sqlite_children_rules")
    engine = create_engine(url)
    listed = [("e-1", 0, "c-b"), ("e-1", 1, "c-a"), ("e-2", 0, "c-a")]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO export_contacts (export_id, position, contact_id) VALUES (:e, :p, :c)"),
                     [{"e": e, "p": p, "c": c} for e, p, c in listed])
    engine.dispose()
    for revision in (AT_0026, "0025_sqlite_children_rules", AT_0026):
        if revision == AT_0026:
            _to(url, revision)
        else:
            app = create_app({"SQLALCHEMY_DATABASE_URI": url})
            with app.app_context():
                downgrade(directory=MIGRATIONS, revision=revision)
                db.engine.dispose()
        engine = create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT export_id, position, contact_id FROM export_contacts "
                                     "ORDER BY export_id, position")).all()
            with pytest.raises(DatabaseError, match="append-only"):
                conn.execute(text("DELETE FROM export_contacts"))
        key = inspect(engine).get_pk_constraint("export_contacts")["constrained_columns"]
        engine.dispose()
        assert [tuple(row) for row in rows] == listed
        assert key == (["export_id", "contact_id"] if revision == AT_0026 else ["export_id", "position"])
