"""Migration 0012 fills in each stored contact's number of information gaps from its recommendation.

A store at 0010 with a contact whose recommendation lists two gaps, one listing none, and one
unscored (no recommendation) is upgraded: 2, 0 and nothing. (SQLite: the PostgreSQL suite runs the
same migration on its empty database.)
"""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from tests.record.test_migration_0003 import _to


def test_the_gap_counts_are_filled_in(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _to(url, "0010_scale_indexes")
    engine = create_engine(url)
    recommendations = {"two": {"level": 2, "information_gaps": [{"field": "children.0.age_years"},
                                                                 {"field": "consent"}]},
                       "none": {"level": 1, "information_gaps": []}, "unscored": None}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, name, created_at) VALUES (1, 'Demo Police', '2026-11-01')"))
        conn.execute(text("INSERT INTO users (id, email, role, is_active, created_at) VALUES "
                          "(1, 'w@x.invalid', 'practitioner', 1, '2026-11-01')"))
        for cid, rec in recommendations.items():
            conn.execute(text(
                "INSERT INTO contacts (id, organisation_id, partner_reference, source_code, primary_concern, "
                "received_at, accepted_at, status, decision_due_at, marac_recommended, payload, recommendation, "
                "created_by_id, created_at, version) VALUES (:id, 1, :id, '6', 'neglect', '2026-11-20 08:00:00', "
                "'2026-11-20 08:00:00', 'awaiting_decision', '2026-11-21 08:00:00', 0, '{}', :rec, 1, "
                "'2026-11-20 08:00:00', 1)"), {"id": cid, "rec": None if rec is None else json.dumps(rec)})
    engine.dispose()

    _to(url, "head")
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, gap_count FROM contacts")).all())
    engine.dispose()
    assert rows == {"two": 2, "none": 0, "unscored": None}
