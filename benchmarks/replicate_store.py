"""Grow a SQLite store loaded by ``seed-volume`` by copying its contacts back in time, for timing reports only.

    .venv/bin/python benchmarks/replicate_store.py /tmp/base.db --times 3

When the machine is too busy to load a large store through the service in time, this copies
every contact with its children, decisions and reviews ``--times`` times, each copy moved back
by the stored span (whole days) so the copies follow each other without overlapping, with new
ids (a copy's id is its original's with the first two characters
replaced by ``r1``, ``r2``...: still 36 characters) and partner references. The copies are not in the audit record (``audit-verify`` reports
them as unsealed), so use such a store to time queries, never to check the record. Works on the
store's schema as found (any revision), copying every column of those four tables.
"""

from __future__ import annotations

import argparse
import sqlite3

TIMES = {
    "contacts": ("received_at", "accepted_at", "decision_due_at", "created_at", "first_decided_at",
                 "first_review_due_at", "first_reviewed_at"),
    "children": (),
    "decisions": ("decided_at",),
    "reviews": ("reviewed_at",),
}


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--times", type=int, default=2)
    args = parser.parse_args()
    db = sqlite3.connect(args.path)
    first, last = db.execute("SELECT min(accepted_at), max(accepted_at) FROM contacts").fetchone()
    span = int(db.execute("SELECT julianday(?) - julianday(?)", (last, first)).fetchone()[0]) + 1
    top = {t: db.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0]
           for t in ("children", "decisions", "reviews")}
    for k in range(1, args.times + 1):
        shift = f"-{k * span} days"

        def moved(column: str, shift: str = shift) -> str:
            return f"CASE WHEN {column} IS NULL THEN NULL ELSE strftime('%Y-%m-%d %H:%M:%f', {column}, '{shift}') || '000' END"

        special = {
            "contacts": {"id": f"'r{k}' || substr(id, 3)", "partner_reference": f"partner_reference || '-r{k}'",
                         "latest_decision_id": f"latest_decision_id + {k * top['decisions']}",
                         "latest_review_id": f"latest_review_id + {k * top['reviews']}",
                         "first_decision_id": f"first_decision_id + {k * top['decisions']}",
                         "accepted_day": f"date(accepted_day, '{shift}')"},
            "children": {"id": f"id + {k * top['children']}", "contact_id": f"'r{k}' || substr(contact_id, 3)"},
            "decisions": {"id": f"id + {k * top['decisions']}", "contact_id": f"'r{k}' || substr(contact_id, 3)",
                          "corrects_id": f"corrects_id + {k * top['decisions']}"},
            "reviews": {"id": f"id + {k * top['reviews']}", "contact_id": f"'r{k}' || substr(contact_id, 3)",
                        "decision_id": f"decision_id + {k * top['decisions']}"},
        }
        for table, times in TIMES.items():
            columns = _columns(db, table)
            values = [special[table].get(c) or (moved(c) if c in times else c) for c in columns]
            db.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {table} "
                       f"WHERE {'id' if table == 'contacts' else 'contact_id'} NOT LIKE 'r%'")
        db.commit()
    total = db.execute("SELECT count(*) FROM contacts").fetchone()[0]
    print(f"{total} contacts ({args.times} copies, each {span} days earlier than the one before)")


if __name__ == "__main__":
    main()
