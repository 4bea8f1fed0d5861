"""What storing one export's list costs SQLite: a plain or ``WITHOUT ROWID`` table (0027), keyed by id or number (0029).

    .venv/bin/python benchmarks/bench_export_list_pages.py [--ids 40000] [--lists 14]

Bare ``sqlite3``, no service: a fresh file in WAL mode (``synchronous=NORMAL``, as the service
runs) holds ``export_contacts`` keyed by (export, contact), as an ordinary table (a B-tree by
``rowid`` and the key's index beside it) and ``WITHOUT ROWID`` (the key's B-tree alone), keyed by
the export's id (36 characters, migration 0027) and by its list number (an integer, migration
0029, ``ExportList``). Into each, ``--lists`` lists of ``--ids`` ids drawn from 200,000 (a year of
a large council's contacts from five years of them) are stored one after another, each by the one
``INSERT ... SELECT ... FROM json_each ... ORDER BY value`` the service runs (``audit._STORE_TURN``),
in a transaction of its own after a checkpoint. Prints, for each kind, the median milliseconds a
list held the write lock and the WAL pages its commit wrote (the first two lists left out: they go
into an empty table).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

#: Each table measured: (how the table is made, its export key's column, the key for the n-th list).
KINDS = {
    "ordinary table, export id": ("", "export_id VARCHAR(36)", lambda n: str(uuid.uuid4())),
    "WITHOUT ROWID, export id": (" WITHOUT ROWID", "export_id VARCHAR(36)", lambda n: str(uuid.uuid4())),
    "WITHOUT ROWID, list number": (" WITHOUT ROWID", "export_id INTEGER", lambda n: n + 1),
}
#: A WAL frame: the page (4,096 bytes, SQLite's default) and its 24-byte header.
FRAME = 4096 + 24


def store_lists(path: Path, kind: tuple, pool: list[str], size: int, lists: int) -> tuple[list[float], list[int]]:
    """Milliseconds and WAL pages for each of ``lists`` lists stored into a new table of ``kind``."""
    rowid, key_column, key = kind
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"CREATE TABLE export_contacts ({key_column} NOT NULL, position INTEGER NOT NULL, "
                       f"contact_id VARCHAR(36) NOT NULL, PRIMARY KEY (export_id, contact_id)){rowid}")
    wal = Path(f"{path}-wal")
    times, pages = [], []
    for n in range(lists):
        ids = json.dumps(random.sample(pool, size))
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO export_contacts (export_id, position, contact_id) "
                           "SELECT ?, key, value FROM json_each(?) ORDER BY value", (key(n), ids))
        connection.execute("COMMIT")
        times.append((time.perf_counter() - started) * 1000)
        pages.append(wal.stat().st_size // FRAME)
    connection.close()
    return times, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=40_000, help="contacts in each list (a year's List 1)")
    parser.add_argument("--lists", type=int, default=14, help="lists stored one after another")
    args = parser.parse_args()
    random.seed(19)
    pool = [str(uuid.uuid4()) for _ in range(200_000)]
    print(f"{args.lists} lists of {args.ids} ids each; medians of the last {args.lists - 2}")
    with tempfile.TemporaryDirectory() as tmp:
        for number, (name, kind) in enumerate(KINDS.items()):
            path = Path(tmp) / f"{number}.db"
            times, pages = store_lists(path, kind, pool, args.ids, args.lists)
            size = os.path.getsize(path) / 2**20
            print(f"  {name:<28} {statistics.median(times[2:]):7.1f} ms a list (range {min(times[2:]):.0f}-"
                  f"{max(times[2:]):.0f}), {statistics.median(pages[2:]):6.0f} WAL pages, file {size:.0f} MiB")


if __name__ == "__main__":
    main()
