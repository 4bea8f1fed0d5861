"""The garbage collector's pauses in gunicorn's workers, with the loaded application frozen and not (issue 19).

    .venv/bin/python benchmarks/bench_gc_pauses.py --store /tmp/stores/s20k.db [--rounds 6]
    .venv/bin/python benchmarks/bench_gc_pauses.py --store postgresql+psycopg://.../db

A SQLite store is copied first (left as it was); on PostgreSQL the posted contacts and exports stay.
Two gunicorns (``config/gunicorn.conf.py``) serve the same store at once: one as configured
(``post_worker_init`` freezes what the loaded application holds), one with ``TRIAGE_GC_FREEZE=0``.
Each worker also reports every collection's generation and duration (a ``gc.callbacks`` entry added
by a configuration that runs the project's and wraps its ``post_worker_init``; nothing in the
service changes). Both are warmed as bench-scale's server is by then (a year's Annex A List 1 and
dashboard, a month's List 3, the contact list and a queue, four times each), then, ``--rounds``
times and in turn: intake at 8 clients quiet, and again while a year's List 1 and a year's dashboard
loop. Prints, for each: intake p50/p95/p99 quiet and during, and the collections per worker (how
many full ones, their median and longest pause, and the time spent collecting in all).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import (  # noqa: E402
    INTAKE_PER_CLIENT,
    ROOT,
    _contacts,
    _http,
    _intake,
    _intake_during_export,
    _percentile,
    _token,
    run,
    serve,
    store_url,
)

#: A gunicorn configuration: the project's own, with each worker's collections written to GC_LOG_DIR.
CONFIG = '''
import os
exec(compile(open({project!r}).read(), {project!r}, "exec"))
_project_post_worker_init = post_worker_init


def post_worker_init(worker):
    import gc
    import time
    _project_post_worker_init(worker)
    out = open(os.path.join(os.environ["GC_LOG_DIR"], f"{{os.environ['TRIAGE_GC_FREEZE']}}-{{os.getpid()}}"),
               "a", buffering=1)
    started = []

    def collected(phase, info):
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            out.write(f"{{info['generation']}} {{(time.perf_counter() - started[0]) * 1000:.3f}}\\n")
    gc.callbacks.append(collected)
'''

VARIANTS = {"frozen (as configured)": "1", "not frozen (TRIAGE_GC_FREEZE=0)": "0"}


def _warm(port: int, manager: str, year: str, month: str) -> None:
    for _ in range(4):
        for path in (f"/api/v1/exports/annex-a/list-1.csv?from={year}", f"/api/v1/reports/dashboard?from={year}",
                     f"/api/v1/exports/annex-a/list-3.csv?from={month}", "/api/v1/contacts",
                     "/api/v1/queues/awaiting-decision"):
            _http(port, "GET", path, manager)


def _collections(log_dir: Path, freeze: str) -> list[str]:
    lines = []
    for worker in sorted(log_dir.glob(f"{freeze}-*")):
        rows = [line.split() for line in worker.read_text().splitlines()]
        full = [float(ms) for generation, ms in rows if generation == "2"]
        total = sum(float(ms) for _, ms in rows)
        lines.append(f"    worker: {len(rows)} collections, {len(full)} full "
                     f"(median {statistics.median(full) if full else 0:.0f} ms, longest {max(full, default=0):.0f} ms); "
                     f"{total:.0f} ms collecting in all")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a SQLite file or a PostgreSQL URL loaded by seed-volume")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = store_url(args.store, work)
        (work / "gc.conf.py").write_text(CONFIG.format(project=str(ROOT / "config" / "gunicorn.conf.py")))
        (work / "gc").mkdir()
        env = {**os.environ, "TRIAGE_ENV": "development", "DATABASE_URL": url, "GC_LOG_DIR": str(work / "gc"),
               "BENCH_GUNICORN_CONFIG": str(work / "gc.conf.py")}
        run(env, "init-db")  # a store loaded by an earlier checkout: at this one's schema first
        manager, police = _token(env, "manager@demo.invalid"), _token(env, "police@demo.invalid")
        year = (date.today() - timedelta(days=365)).isoformat()
        month = (date.today() - timedelta(days=31)).isoformat()
        contacts = iter(_contacts(200_000, seed=os.getpid()))
        servers = {name: serve({**env, "TRIAGE_GC_FREEZE": freeze}) for name, freeze in VARIANTS.items()}
        try:
            quiet: dict[str, list[float]] = {name: [] for name in VARIANTS}
            during: dict[str, list[float]] = {name: [] for name in VARIANTS}
            for _server, port in servers.values():
                _warm(port, manager, year, month)
                _intake(port, [police], contacts, 8, 2)
            for turn in range(args.rounds):
                order = list(servers.items()) if turn % 2 == 0 else list(reversed(servers.items()))
                for name, (_server, port) in order:
                    quiet[name] += _intake(port, [police], contacts, 8, INTAKE_PER_CLIENT)
                    during[name] += _intake_during_export(port, police, manager, contacts, year)[0]
                print(f"  round {turn + 1} of {args.rounds} done", flush=True)
        finally:
            for server, _port in servers.values():
                server.terminate()
            for server, _port in servers.values():
                server.wait(timeout=60)
        print(f"{url.split(':')[0]}: intake at 8 clients, seconds ({args.rounds} rounds of {8 * INTAKE_PER_CLIENT} each, quiet and during "
              "a year's export and dashboard); the collector's pauses per worker")
        for name, freeze in VARIANTS.items():
            q, d = quiet[name], during[name]
            print(f"  {name}: quiet p50 {statistics.median(q):.3f} p95 {_percentile(q, 0.95):.3f} "
                  f"p99 {_percentile(q, 0.99):.3f}; during p50 {statistics.median(d):.3f} "
                  f"p95 {_percentile(d, 0.95):.3f} p99 {_percentile(d, 0.99):.3f}")
            print("\n".join(_collections(work / "gc", freeze)))


if __name__ == "__main__":
    main()
