"""Intake with time-ordered contact ids against random ones, in one process (issue 19).

    DATABASE_URL=sqlite:///path/store.db .venv/bin/python benchmarks/bench_contact_ids.py
    DATABASE_URL=postgresql+psycopg://... BLOCKS=100 .venv/bin/python benchmarks/bench_contact_ids.py

On a store already loaded (``flask triage seed-volume``; a SQLite store is copied first and left as
it was; on PostgreSQL the posted contacts stay): ``POST /api/v1/contacts`` through Flask's test
client, ``BLOCKS`` pairs of blocks of ten intakes (default 60), each pair one block with the contact
ids intake makes (``tables.time_ordered_id``, version 7 UUIDs) and one with random ids (version 4,
as before), the order swapped on every pair, so both see the machine and the store at the same
speed. Prints per kind: the median and mean wall time of an intake, CPU time of this process, and
on PostgreSQL the log (WAL) bytes written while its blocks ran, after a ``CHECKPOINT`` at the start
(the server's whole WAL: run it alone).

What it shows: the cost of putting each new contact's entries at a random place in every index its
id keys (the contact, its children, its events and audit stream), against at the end. It grows with
the store: compare a 20,000-contact store with a 200,000-contact one.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import ROOT, _contacts, store_in_use  # noqa: E402
from intake_cost import _police_token, _post, _wal_position  # noqa: E402

sys.path.insert(0, str(ROOT))

BLOCK = 10


def main() -> None:
    os.environ.setdefault("TRIAGE_ENV", "development")
    with store_in_use(os.environ["DATABASE_URL"]) as url:
        _measure(url, int(os.environ.get("BLOCKS", 60)))


def _measure(url: str, blocks: int) -> None:
    from triage.app import create_app
    from triage.extensions import db
    from triage.record import inserts
    from triage.record.tables import new_id, time_ordered_id

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "API_RATE_LIMIT": 100_000_000})
    kinds = {"time-ordered (v7)": time_ordered_id, "random (v4)": new_id}
    walls: dict[str, list[float]] = {kind: [] for kind in kinds}
    cpu = dict.fromkeys(kinds, 0.0)
    wal = dict.fromkeys(kinds, 0)  # PostgreSQL: log bytes written while each kind's blocks ran
    # Only the police partner's contacts are kept (a fraction of what the generator makes): plenty asked for.
    bodies = iter(json.dumps(c) for c in _contacts(40_000, seed=int(time.time()) % 1_000_000))
    try:
        token, size = _police_token(app)
        client = app.test_client()
        _post(client, token, [next(bodies) for _ in range(20)])  # warm: caches, compiled statements
        _checkpoint(app)  # both kinds start from the same log: each page's first change after it is written whole
        for pair in range(blocks):
            for kind in (list(kinds) if pair % 2 == 0 else list(reversed(kinds))):
                inserts.time_ordered_id = kinds[kind]
                started, logged = time.process_time(), _wal_position(app)
                for _ in range(BLOCK):
                    body = next(bodies)
                    began = time.perf_counter()
                    _post(client, token, [body])
                    walls[kind].append(time.perf_counter() - began)
                cpu[kind] += time.process_time() - started
                if logged is not None:
                    wal[kind] += _wal_position(app) - logged
    finally:
        inserts.time_ordered_id = time_ordered_id
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    print(f"{url.split(':')[0]}: {blocks * BLOCK} intakes each way on a store of {size} contacts, "
          f"blocks of {BLOCK} alternating")
    for kind, times in walls.items():
        print(f"  contact ids {kind:<18} wall ms per intake: median {statistics.median(times) * 1000:6.2f}  "
              f"mean {statistics.fmean(times) * 1000:6.2f}   CPU ms {cpu[kind] / len(times) * 1000:6.2f}"
              + (f"   WAL bytes {wal[kind] / len(times):7.0f}" if url.startswith("postgresql") else ""))


def _checkpoint(app) -> None:
    """PostgreSQL: a checkpoint now (the log each kind writes then counts its pages' first images alike)."""
    from triage.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("CHECKPOINT"))
            db.session.commit()
        db.session.remove()


if __name__ == "__main__":
    main()
