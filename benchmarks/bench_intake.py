"""Intake latency on an existing store (issue 19's intake targets), over HTTP through gunicorn.

    DATABASE_URL=sqlite:///path/store.db .venv/bin/python benchmarks/bench_intake.py
    DATABASE_URL=postgresql+psycopg://... BENCH_ROUNDS=3 .venv/bin/python benchmarks/bench_intake.py

For a store already loaded (``flask triage seed-volume``; the contacts it adds stay in it): starts
gunicorn on it (config/gunicorn.conf.py, the rate limit's default batch, the limit lifted), then
prints ``/healthz`` p50, intake p50 at one client, intake p95 at 8 clients, and API GET p50 while
intake runs at 4 clients. Each figure is the median over ``BENCH_ROUNDS`` rounds (default 1). The
machine's load average is printed beside them: figures taken on a busy machine say so.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import _contacts, _http, _intake, _percentile, _token, serve  # noqa: E402


def main() -> None:
    env = {**os.environ, "TRIAGE_ENV": os.environ.get("TRIAGE_ENV", "development")}
    rounds = int(os.environ.get("BENCH_ROUNDS", 1))
    police, manager = _token(env, "police@demo.invalid"), _token(env, "manager@demo.invalid")
    server, port = serve(env)
    figures: dict[str, list[float]] = {}
    try:
        contacts = _contacts(40_000, seed=int(time.time()) % 1_000_000)
        _intake(port, [police], contacts, 1, 5)  # every worker's path warmed
        for _ in range(rounds):
            figures.setdefault("healthz p50", []).append(
                statistics.median(_http(port, "GET", "/healthz")[0] for _ in range(21)))
            figures.setdefault("intake p50, 1 client", []).append(statistics.median(_intake(port, [police], contacts,
                                                                                            1, 20)))
            figures.setdefault("intake p95, 8 clients", []).append(
                _percentile(_intake(port, [police], contacts, 8, 10), 0.95))
            reads: list[float] = []
            stop = threading.Event()

            def reader(stop=stop, reads=reads):
                while not stop.is_set():
                    reads.append(_http(port, "GET", "/api/v1/contacts?per_page=20", manager)[0])

            thread = threading.Thread(target=reader)
            thread.start()
            _intake(port, [police], contacts, 4, 10)
            stop.set()
            thread.join()
            figures.setdefault("API GET p50 while intake runs at 4 clients", []).append(statistics.median(reads))
    finally:
        server.terminate()
        server.wait(timeout=60)
    load = os.getloadavg()[0]
    print(f"{env['DATABASE_URL'].split(':')[0]}: medians of {rounds} round(s); load average {load:.1f} "
          f"on {os.cpu_count()} cores")
    for name, values in figures.items():
        print(f"  {name:<45} {statistics.median(values) * 1000:9.1f} ms")
    p50 = statistics.median(figures["intake p50, 1 client"]) / statistics.median(figures["healthz p50"])
    print(f"  {'intake p50 / healthz p50':<45} {p50:9.1f} x")


if __name__ == "__main__":
    main()
