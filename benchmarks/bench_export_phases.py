"""Where intake waits while a year's export runs: by the export's phase, and the write lock the export holds.

    .venv/bin/python benchmarks/bench_export_phases.py --store /tmp/stores/s40.db [--per-client 60] [--rounds 2]
    .venv/bin/python benchmarks/bench_export_phases.py --store postgresql+psycopg://.../db

Issue 19 asks intake p95 at 8 clients to stay within 1.5x of quiet while a year's export runs;
``bench_intake_during_export.py`` gives the ratio, this says why. A SQLite store is copied first
(left as it was); on PostgreSQL the posted contacts and exports stay.

1. In-process, three times: a year's Annex A List 1 built as a read-only request builds it
   (``txn.reading``), with every write transaction's time from ``BEGIN IMMEDIATE`` to its commit
   (SQLite only: how long every intake must wait behind the export), and the time to the first byte.
2. Over HTTP through gunicorn, ``--rounds`` times: intake at 8 clients quiet, then while one client
   loops over a year's List 1; each intake is put with the export phase it started in: while the
   export records its list of contacts (before its first byte), or while it streams rows. Prints
   p50 and p95 for each, and each export's first byte and total time.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import ROOT, _contacts, _http, _percentile, _token, run, serve, store_url  # noqa: E402

sys.path.insert(0, str(ROOT))
LIST_1 = "/api/v1/exports/annex-a/list-1.csv?from={year}"


def watch_write_locks(engine) -> list[float]:
    """A list each SQLite write transaction's time from ``BEGIN IMMEDIATE`` to its commit is added to."""
    from sqlalchemy import event

    holds: list[float] = []
    began: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _begin(_conn, _cursor, statement, *_args):
        if statement == "BEGIN IMMEDIATE":
            began.append(time.perf_counter())

    @event.listens_for(engine, "commit")
    def _commit(*_args):
        if began:
            holds.append(time.perf_counter() - began.pop())

    @event.listens_for(engine, "rollback")
    def _rollback(*_args):
        began.clear()  # a transaction rolled back holds nothing any more

    return holds


def lock_holds(url: str, first: date) -> None:
    """Part 1: the export's write transactions and first byte, in-process."""
    from sqlalchemy import select

    from triage.app import create_app
    from triage.extensions import db
    from triage.record import txn
    from triage.record.tables import User
    from triage.reporting import exports

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        holds = watch_write_locks(db.engine)
        manager = db.session.scalar(select(User).where(User.email == "manager@demo.invalid"))
        print("  in-process, a year's List 1 as a read-only request:")
        for _ in range(3):
            holds.clear()
            with txn.reading():
                started = time.perf_counter()
                chunks = exports.annex_a_chunks(1, first, date.today(), manager)
                first_byte = time.perf_counter() - started
                size = sum(len(chunk) for chunk in chunks)
                total = time.perf_counter() - started
                db.session.rollback()
            lock = (f"{len(holds)} write transactions, longest {max(holds) * 1000:.0f} ms, "
                    f"together {sum(holds) * 1000:.0f} ms" if holds else "no write lock (PostgreSQL)")
            print(f"    first byte {first_byte * 1000:4.0f} ms, whole {total * 1000:5.0f} ms ({size} characters); {lock}")
        db.engine.dispose()


def phases(port: int, police: str, manager: str, year: str, per_client: int) -> None:
    """Part 2: intake at 8 clients quiet and beside a looping year's export, by the export's phase."""
    contacts = iter(_contacts(200_000, seed=os.getpid() + int(time.time())))
    lock = threading.Lock()
    origin = time.perf_counter()
    runs: list[tuple[float, float, float]] = []  # each export: started, first byte, ended
    intakes: list[tuple[float, float]] = []  # each intake: started, seconds
    stop = threading.Event()

    def export() -> None:
        while not stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            started = time.perf_counter()
            conn.request("GET", LIST_1.format(year=year), headers={"Authorization": f"Bearer {manager}"})
            answer = conn.getresponse()
            answer.read(1)
            first = time.perf_counter()
            answer.read()
            conn.close()
            runs.append((started - origin, first - origin, time.perf_counter() - origin))

    def client() -> None:
        for _ in range(per_client):
            with lock:
                body = next(contacts)
            started = time.perf_counter()
            seconds, _ = _http(port, "POST", "/api/v1/contacts", police, body)
            with lock:
                intakes.append((started - origin, seconds))

    def eight_clients() -> None:
        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    eight_clients()
    quiet = [seconds for _, seconds in intakes]
    intakes.clear()
    exporter = threading.Thread(target=export)
    exporter.start()
    time.sleep(0.3)
    eight_clients()
    stop.set()
    exporter.join()

    def phase(at: float) -> str:
        for started, first, ended in runs:
            if started <= at < first:
                return "recording its list (before the first byte)"
            if first <= at < ended:
                return "streaming rows"
        return "between exports"

    def line(label: str, values: list[float]) -> str:
        return (f"    {label:<66} n {len(values):4d}  p50 {statistics.median(values) * 1000:5.0f}  "
                f"p95 {_percentile(values, 0.95) * 1000:5.0f} ms")

    print(line("quiet", quiet))
    print(line("while a year's export loops", [seconds for _, seconds in intakes]))
    for name in ("recording its list (before the first byte)", "streaming rows"):
        chosen = [seconds for at, seconds in intakes if phase(at) == name]
        if chosen:
            print(line(f"  started while it was {name}", chosen))
    print("    exports (first byte, whole), s: " + ", ".join(f"({f - s:.2f}, {e - s:.2f})" for s, f, e in runs),
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a SQLite file or a PostgreSQL URL loaded by seed-volume")
    parser.add_argument("--per-client", type=int, default=60, help="intakes per client in each run")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("TRIAGE_ENV", "development")
    with tempfile.TemporaryDirectory() as tmp:
        url = store_url(args.store, Path(tmp))
        first = date.today() - timedelta(days=365)
        print(f"{url.split(':')[0]}: a year's Annex A List 1 (from {first}); load {os.getloadavg()[0]:.1f}",
              flush=True)
        lock_holds(url, first)
        env = {**os.environ, "DATABASE_URL": url}
        run(env, "init-db")  # a store loaded by an earlier checkout: at this one's schema first
        manager, police = _token(env, "manager@demo.invalid"), _token(env, "police@demo.invalid")
        server, port = serve(env)
        try:
            for body in _contacts(8, seed=os.getpid()):  # every worker's intake path once
                _http(port, "POST", "/api/v1/contacts", police, body)
            for number in range(1, args.rounds + 1):
                print(f"  over HTTP, round {number} (load {os.getloadavg()[0]:.1f}), intake at 8 clients:", flush=True)
                phases(port, police, manager, first.isoformat(), args.per_client)
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
