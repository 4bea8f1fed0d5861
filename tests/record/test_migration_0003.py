"""Migration 0003 carries stored contacts over to the front door's clock and child records.

A store at revision 0002 with a partner's contact and a worker's phone contact is upgraded:
the partner's contact was accepted when it was stored (``created_at``), the call keeps the call
time (``received_at``), and every stored child gets a record of its own. (SQLite: the PostgreSQL
suite runs the same migration on its empty test database.)
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from triage.app import MIGRATIONS, create_app
from triage.extensions import db


def _to(url: str, revision: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=revision)
        db.engine.dispose()


def _down(url: str, revision: str) -> None:
    from flask_migrate import downgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision=revision)
        db.engine.dispose()


def test_existing_contacts_and_children_are_carried_over(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _to(url, "0002")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, name, created_at) VALUES (1, 'Demo Police', '2026-11-01')"))
        conn.execute(text("INSERT INTO users (id, email, role, organisation_id, is_active, created_at) VALUES "
                          "(1, 'p@x.invalid', 'partner', 1, 1, '2026-11-01'), "
                          "(2, 'w@x.invalid', 'practitioner', NULL, 1, '2026-11-01')"))
        for cid, by, received, created in (("sent", 1, "2026-11-20 08:05:00", "2026-11-27 10:00:00"),
                                           ("call", 2, "2026-11-27 09:30:00", "2026-11-27 09:45:00")):
            conn.execute(text(
                "INSERT INTO contacts (id, organisation_id, partner_reference, source_code, primary_concern, "
                "received_at, status, decision_due_at, marac_recommended, payload, created_by_id, created_at, "
                "version) VALUES (:id, 1, :id, '6', 'neglect', :received, 'awaiting_decision', :received, 0, "
                "'{}', :by, :created, 1)"), {"id": cid, "by": by, "received": received, "created": created})
            for position in (0, 1):
                conn.execute(text("INSERT INTO children (contact_id, position, child_reference, unborn) "
                                  "VALUES (:id, :p, 'C-1', 0)"), {"id": cid, "p": position})
    engine.dispose()

    _to(url, "head")
    engine = create_engine(url)
    with engine.begin() as conn:
        accepted = dict(conn.execute(text("SELECT id, accepted_at FROM contacts")).all())
        assert str(accepted["sent"]).startswith("2026-11-27 10:00:00")
        assert str(accepted["call"]).startswith("2026-11-27 09:30:00")
        child_ids = [row[0] for row in conn.execute(text("SELECT child_id FROM children"))]
        assert len(child_ids) == 4 and len(set(child_ids)) == 4 and None not in child_ids
        records = {row[0] for row in conn.execute(text("SELECT id FROM child_records"))}
        assert set(child_ids) == records
        conn.execute(text("INSERT INTO child_links (child_id, linked_child_id, reason, linked_by_id, linked_at) "
                          "VALUES (:a, :b, 'test', 2, '2026-12-01')"), {"a": child_ids[0], "b": child_ids[1]})
    with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE child_links SET reason = 'changed'"))
    engine.dispose()


def test_it_downgrades_to_0002_and_upgrades_again(tmp_path):
    from flask_migrate import downgrade

    url = f"sqlite:///{tmp_path / 'round.db'}"
    _to(url, "head")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="0002")
        tables = set(db.inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert "child_records" not in tables and "contacts" in tables
    _to(url, "head")
