"""Migration 0025 gives SQLite's ``children`` its NOT NULL and foreign key without losing a row, and comes down again.

A store at 0024 holds a child tied to its record and one stored with none (SQLite let that
through before). After the upgrade both are still there, in place: the first keeps its record,
the second has a record of its own, and the table's indexes are back. (SQLite: nothing changes
on PostgreSQL, which has had both rules since 0003.)
"""

from __future__ import annotations

from flask_migrate import downgrade
from sqlalchemy import create_engine, inspect, text

from tests.record.test_migration_0003 import _to
from triage.app import MIGRATIONS, create_app
from triage.extensions import db


def _store_at_0024(url: str) -> None:
    _to(url, "0024_export_lists_by_export")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, name, created_at) VALUES (1, 'Demo Police', '2026-11-01')"))
        conn.execute(text("INSERT INTO users (id, email, role, is_active, created_at, session_generation) "
                          "VALUES (1, 'w@x.invalid', 'practitioner', 1, '2026-11-01', 0)"))
        conn.execute(text(
            "INSERT INTO contacts (id, organisation_id, partner_reference, source_code, primary_concern, received_at, "
            "accepted_at, status, decision_due_at, marac_recommended, payload, created_by_id, created_at, version) "
            "VALUES ('c-1', 1, 'r-1', '6', 'neglect', '2026-11-27 09:30:00', '2026-11-27 09:30:00', "
            "'awaiting_decision', '2026-11-28 09:30:00', 0, '{}', 1, '2026-11-27 09:31:00', 1)"))
        conn.execute(text("INSERT INTO child_records (id, created_at) VALUES ('kept', '2026-11-27')"))
        for row_id, child_id in ((10, "kept"), (11, None)):
            conn.execute(text("INSERT INTO children (id, contact_id, position, child_reference, unborn, child_id) "
                              "VALUES (:id, 'c-1', :p, 'C', 0, :child)"), {"id": row_id, "p": row_id - 10,
                                                                          "child": child_id})
    engine.dispose()


def test_every_child_is_kept_in_place_and_tied_to_a_record(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _store_at_0024(url)
    _to(url, "head")
    engine = create_engine(url)
    with engine.connect() as conn:
        children = dict(conn.execute(text("SELECT id, child_id FROM children")).all())
        records = set(conn.execute(text("SELECT id FROM child_records")).scalars())
    indexes = {index["name"] for index in inspect(engine).get_indexes("children")}
    engine.dispose()
    assert set(children) == {10, 11} and children[10] == "kept"
    assert children[11] not in (None, "kept") and set(children.values()) == records
    assert indexes == {"ix_children_child_id", "ix_children_contact_id", "ix_children_child_reference"}


def test_it_downgrades_to_0024_and_upgrades_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _store_at_0024(url)
    _to(url, "head")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="0024_export_lists_by_export")
        column = {c["name"]: c for c in inspect(db.engine).get_columns("children")}["child_id"]
        keys = inspect(db.engine).get_foreign_keys("children")
        db.engine.dispose()
    assert column["nullable"] and [key["referred_table"] for key in keys] == ["contacts"]
    _to(url, "head")
