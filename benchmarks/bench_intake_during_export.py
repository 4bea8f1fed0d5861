"""Intake p95 at 8 clients, quiet and while a year's export and dashboard run (issue 19's last intake target).

    .venv/bin/python benchmarks/bench_intake_during_export.py --store /tmp/stores/b40k.db [--rounds 3] [--shapes 4x2]
    .venv/bin/python benchmarks/bench_intake_during_export.py --store postgresql+psycopg://.../db

A SQLite store is copied first (left as it was); on PostgreSQL the posted contacts stay. For each
gunicorn shape in ``SHAPES`` (workers x threads, through ``TRIAGE_WORKERS``/``TRIAGE_THREADS``),
gunicorn is started on the store and, ``--rounds`` times: intake p95 at 8 clients (``--per-client``
intakes each), then again while one client loops over a year's Annex A List 1 export and another
over a year's dashboard. Prints the median of each, their ratio (the target is under 1.5) and how
many year's exports were served whole in each round.

Why the shapes: a gthread worker (two threads, the default) accepts connections while its threads
are busy and queues them inside, so an intake can wait behind an export in the same process, and
for that process's interpreter lock. With one thread gunicorn uses its sync worker, which takes a
connection only when it is free; the operating system then shares the cores between processes.
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
    _contacts,
    _intake,
    _intake_during_export,
    _percentile,
    _token,
    run,
    serve,
    store_url,
)

SHAPES = ((4, 2), (4, 1))


def _p95s(port: int, police: str, manager: str, contacts, year: str, per_client: int) -> tuple[float, float, int]:
    """One round: the quiet p95, the p95 during, and how many year's exports were served whole meanwhile."""
    quiet = _percentile(_intake(port, [police], contacts, 8, per_client), 0.95)
    during, exports = _intake_during_export(port, police, manager, contacts, year, per_client)
    return quiet, _percentile(during, 0.95), exports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a SQLite file or a PostgreSQL URL loaded by seed-volume")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-client", type=int, default=INTAKE_PER_CLIENT,
                        help="intakes per client in each round, quiet and during (default %(default)s; "
                             "bench_scale.INTAKE_PER_CLIENT says why)")
    parser.add_argument("--shapes", default=",".join(f"{w}x{t}" for w, t in SHAPES),
                        help="gunicorn shapes to run, workers x threads (default %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = store_url(args.store, Path(tmp))
        env = {**os.environ, "TRIAGE_ENV": "development", "DATABASE_URL": url}
        run(env, "init-db")  # a store loaded by an earlier checkout: at this one's schema first
        manager, police = _token(env, "manager@demo.invalid"), _token(env, "police@demo.invalid")
        year = (date.today() - timedelta(days=365)).isoformat()
        contacts = _contacts(200_000, seed=os.getpid())
        print(f"{url.split(':')[0]}: intake p95 at 8 clients, seconds (median of {args.rounds} rounds); "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        for workers, threads in (map(int, shape.split("x")) for shape in args.shapes.split(",")):
            server, port = serve({**env, "TRIAGE_WORKERS": str(workers), "TRIAGE_THREADS": str(threads)})
            try:
                _intake(port, [police], contacts, 8, 2)  # warm every worker's path once
                rounds = [_p95s(port, police, manager, contacts, year, args.per_client) for _ in range(args.rounds)]
            finally:
                server.terminate()
                server.wait(timeout=60)
            quiet = statistics.median(q for q, _, _ in rounds)
            during = statistics.median(d for _, d, _ in rounds)
            print(f"  {workers} workers x {threads} threads: quiet {quiet:.3f}  during export+dashboard "
                  f"{during:.3f}  ratio {during / quiet:.2f}  (load {os.getloadavg()[0]:.1f}; year's exports "
                  f"served whole by round {[e for _, _, e in rounds]})", flush=True)


if __name__ == "__main__":
    main()
