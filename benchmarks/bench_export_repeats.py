"""A year's export made again and again: does storing its list cost more each time (issue 19)?

    .venv/bin/python benchmarks/bench_export_repeats.py --store /tmp/stores/s200.db [--exports 12]
    .venv/bin/python benchmarks/bench_export_repeats.py --store postgresql+psycopg://.../db

Every export stores its list of contacts (``export_contacts``) before the file's first byte, and a
council asks for the same year's List 1 many times (each month's return, an inspection). The list
must stay as cheap to store on the twelfth time as on the first, and a contact's history (which
finds every export the contact was in) must not slow with it. A SQLite store is copied first (left
as it was); on PostgreSQL the exports made here stay. Either is migrated to this checkout's schema first.

In-process, ``--exports`` times, a year's Annex A List 1 as a read-only request: the time to its first
byte, the longest write transaction (SQLite: how long every intake waits behind it) or the WAL the
export wrote (PostgreSQL, ``pg_stat_wal``, after a ``CHECKPOINT``, as exports made hours apart have one
between them; it needs a superuser or ``pg_checkpoint``), and the median of 20 reads of one listed
contact's history.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_export_phases import watch_write_locks  # noqa: E402

os.environ.setdefault("TRIAGE_ENV", "development")


def run(url: str, exports_made: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from triage.app import create_app
    from triage.extensions import db
    from triage.record import audit, txn
    from triage.record.schema import MIGRATIONS
    from triage.record.tables import Contact, User
    from triage.reporting import exports

    first = date.today() - timedelta(days=365)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS)  # a store loaded by an earlier checkout: at this one's schema first
        sqlite = db.engine.dialect.name == "sqlite"
        holds = watch_write_locks(db.engine)

        def wal_bytes() -> int:
            return int(db.session.execute(text("SELECT wal_bytes FROM pg_stat_wal")).scalar_one())

        manager = db.session.scalar(select(User).where(User.email == "manager@demo.invalid"))
        listed = db.session.scalar(select(Contact.id).order_by(Contact.accepted_at.desc()).limit(1))
        db.session.rollback()
        print(f"{db.engine.dialect.name}: a year's List 1 (from {first}), made {exports_made} times in-process")
        for number in range(1, exports_made + 1):
            holds.clear()
            if not sqlite:  # exports made hours apart have a checkpoint between them: a page's first change
                db.session.execute(text("CHECKPOINT"))  # after one writes the whole page to the WAL
                db.session.commit()
            before = 0 if sqlite else wal_bytes()
            with txn.reading():
                started = time.perf_counter()
                chunks = exports.annex_a_chunks(1, first, date.today(), manager)
                first_byte = time.perf_counter() - started
                for _ in chunks:
                    pass
                db.session.rollback()
            if sqlite:
                written = f"longest write transaction {max(holds) * 1000:5.0f} ms" if holds else "no write"
            else:
                written = f"WAL written {(wal_bytes() - before) / 2**20:6.1f} MiB"
                db.session.rollback()
            reads = []
            for _ in range(20):
                with txn.reading():  # as a page reads it: no write lock
                    started = time.perf_counter()
                    shown = audit.history(listed)
                    reads.append(time.perf_counter() - started)
                    db.session.rollback()
            via_export = sum(1 for e in shown if e.data.get("via") == "export")
            print(f"  export {number:3d}: first byte {first_byte * 1000:5.0f} ms, {written}; a contact's history "
                  f"{statistics.median(reads) * 1000:6.1f} ms ({via_export} exports shown)", flush=True)
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a SQLite file or a PostgreSQL URL loaded by seed-volume")
    parser.add_argument("--exports", type=int, default=12)
    args = parser.parse_args()
    if "://" in args.store:
        run(args.store, args.exports)
        return
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "store.db"
        shutil.copyfile(args.store, copy)
        os.sync()
        run(f"sqlite:///{copy}", args.exports)


if __name__ == "__main__":
    main()
