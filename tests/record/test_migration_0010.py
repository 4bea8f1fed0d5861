"""Migration 0010 names each stored contact's latest decision and review (the highest id of each).

A store at 0006 with a contact decided twice (a correction is a new row) and reviewed once, and a
contact never decided, is upgraded: the first points at its newest decision and its review, the
second at nothing. (SQLite: the PostgreSQL suite runs the same migration on its empty database.)
"""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.record.test_migration_0003 import _to


def test_the_latest_decision_and_review_are_filled_in(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _to(url, "0006_checks")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, name, created_at) VALUES (1, 'Demo Police', '2026-11-01')"))
        conn.execute(text("INSERT INTO users (id, email, role, is_active, created_at) VALUES "
                          "(1, 'w@x.invalid', 'practitioner', 1, '2026-11-01')"))
        for cid in ("decided", "waiting"):
            conn.execute(text(
                "INSERT INTO contacts (id, organisation_id, partner_reference, source_code, primary_concern, "
                "received_at, accepted_at, status, decision_due_at, marac_recommended, payload, created_by_id, "
                "created_at, version) VALUES (:id, 1, :id, '6', 'neglect', '2026-11-20 08:00:00', "
                "'2026-11-20 08:00:00', 'awaiting_decision', '2026-11-21 08:00:00', 0, '{}', 1, "
                "'2026-11-20 08:00:00', 1)"), {"id": cid})
        for did in (7, 9):
            conn.execute(text("INSERT INTO decisions (id, contact_id, level, rationale, marac_referral, "
                              "decided_by_id, decided_at) VALUES (:id, 'decided', 2, 'r', 0, 1, '2026-11-20 10:00:00')"),
                         {"id": did})
        conn.execute(text("INSERT INTO reviews (id, contact_id, decision_id, outcome, level, rationale, "
                          "reviewed_by_id, reviewed_at) VALUES (4, 'decided', 9, 'confirmed', 2, 'r', 1, "
                          "'2026-11-20 12:00:00')"))
    engine.dispose()

    _to(url, "head")
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = dict((r[0], r[1:]) for r in conn.execute(
            text("SELECT id, latest_decision_id, latest_review_id FROM contacts")))
        indexes = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
    engine.dispose()
    assert rows == {"decided": (9, 4), "waiting": (None, None)}
    assert {"ix_decisions_decided_at", "ix_reviews_reviewed_at", "ix_contacts_queue_order",  # 0014 widened status_due
            "ix_contacts_received_id", "ix_contacts_org_received_id"} <= indexes
