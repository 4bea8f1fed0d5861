"""Issue 18, item 1: partner POSTs keep their latency while the largest dashboard range is built.

    .venv/bin/python benchmarks/bench_intake_under_dashboard.py [--contacts 2000] [--store /tmp/loaded.db]

Loads a store with ``flask triage seed-volume`` (SQLite by default, the embedded store where the
write lock used to make readers and writers queue), starts gunicorn on it, then in one run:
partner intake alone (2 clients), then the same intake while a manager asks for the dashboard
over the largest range allowed (366 days) in a loop. Prints the p50 and p95 of each, and how many
dashboards were built meanwhile. Timings only here, never in a pass/fail test. ``--store`` times a
copy of a SQLite store already loaded by ``seed-volume`` (migrated to this checkout's revision first)
instead of loading one, when loading would take too long on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_scale import _contacts, _http, _intake, _percentile, _token, run, serve  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--per-client", type=int, default=40)
    parser.add_argument("--store", help="a copy of this loaded SQLite file is used instead of loading one")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir / 'triage.db'}", "TRIAGE_ENV": "development"}
    if args.store:
        import sqlite3

        with sqlite3.connect(args.store) as source, sqlite3.connect(workdir / "triage.db") as copy:
            source.backup(copy)
        run(env, "init-db")  # migrated to this checkout's revision
        print(f"store: a copy of {args.store} ({workdir})")
    else:
        run(env, "init-db")
        loaded, _ = run(env, "seed-volume", "--contacts", str(args.contacts))
        print(f"store: {args.contacts} contacts loaded by seed-volume in {loaded:.0f} s ({workdir})")
    manager, police = _token(env, "manager@demo.invalid"), _token(env, "police@demo.invalid")
    server, port = serve(env)
    try:
        widest = f"/api/v1/reports/dashboard?from={(date.today() - timedelta(days=365)).isoformat()}"
        built = [_http(port, "GET", widest, manager)[0] for _ in range(3)]
        contacts = _contacts(50_000, seed=args.contacts)
        _intake(port, [police], contacts, 1, 3)  # every worker's path warmed once
        alone = _intake(port, [police], contacts, 2, args.per_client)
        stop, during_builds = threading.Event(), []

        def dashboards():
            while not stop.is_set():
                during_builds.append(_http(port, "GET", widest, manager)[0])

        background = threading.Thread(target=dashboards)
        background.start()
        during = _intake(port, [police], contacts, 2, args.per_client)
        stop.set()
        background.join()
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"dashboard over 366 days: median {statistics.median(built):.3f} s alone; "
          f"{len(during_builds)} built while intake ran (median {statistics.median(during_builds):.3f} s)")
    for name, times in (("intake alone", alone), ("intake while the dashboard is built", during)):
        print(f"{name:40s} n={len(times):3d}  p50 {statistics.median(times) * 1000:7.1f} ms  "
              f"p95 {_percentile(times, 0.95) * 1000:7.1f} ms")
    print(f"p95 ratio (during / alone): {_percentile(during, 0.95) / _percentile(alone, 0.95):.2f}")


if __name__ == "__main__":
    main()
