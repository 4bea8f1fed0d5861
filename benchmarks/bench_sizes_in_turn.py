"""Issue 19's "the same time at 20k and 200k" ratios, with both sizes timed in turn on one machine speed.

    .venv/bin/python benchmarks/bench_sizes_in_turn.py SMALL_STORE LARGE_STORE [--times 9]

Each store (a SQLite file, copied first and left as it was, or a PostgreSQL URL; each loaded by
``flask triage seed-volume``) is served by its own gunicorn (config/gunicorn.conf.py), both at once.
Every operation of ``make bench-scale`` that is not about a window (queues, the contact list, a
contact and its history, a partner's feedback, ``/healthz``) and every role's page is then requested
from each server in turn, ``--times`` times each after warming each server's workers, the order of
the two swapped each time, and the medians and their ratio (large / small) printed. Last, a day's
work goes into each store (``_a_days_work``: 110 contacts received, decided and reviewed; they stay
in a PostgreSQL store) and the queue of what was decided today is timed in turn again.

Why: ``make bench-scale`` times one size, then the other, minutes apart, and this 2-core machine's
speed moves by up to half within the hour (seed-volume's 200,000 took 364 s in one run and 530 s in
the next, same code). A ratio of two medians taken at different speeds measures the machine as much
as the store; timed in turn, both see the same speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import (  # noqa: E402
    WARM,
    _a_days_work,
    _Browser,
    _contacts,
    _http,
    _path_name,
    _token,
    operations_of,
    role_pages,
    run,
    serve,
    store_url,
)

#: The operations of ``operations_of`` that are about a window of time (their cost grows with it by design).
WINDOWS = ("Annex A", "dashboard", "partner monthly report")


def _api_request(port: int, path: str, token: str | None) -> Callable[[], float]:
    return lambda: _http(port, "GET", path, token)[0]


def _page_request(browser: _Browser, path: str) -> Callable[[], float]:
    return lambda: browser.get(path)[0]


def _in_turn(requests: list[Callable[[], float]], times: int) -> list[list[float]]:
    """Each of ``requests`` (one per store: a call returning seconds) warmed, then timed in turn, swapping order."""
    for request in requests:
        for _ in range(WARM):
            request()
    timed: list[list[float]] = [[] for _ in requests]
    for i in range(times):
        order = range(len(requests)) if i % 2 == 0 else reversed(range(len(requests)))
        for k in order:
            timed[k].append(requests[k]())
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("small", help="the smaller store: a SQLite file or a PostgreSQL URL")
    parser.add_argument("large", help="the larger store, on the same database")
    parser.add_argument("--times", type=int, default=9, help="timed requests per operation per store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        served = []
        try:
            for name, store in (("small", args.small), ("large", args.large)):
                env = {**os.environ, "TRIAGE_ENV": "development", "DATABASE_URL": store_url(store, Path(tmp), name)}
                run(env, "init-db")  # a store loaded by an earlier checkout: at this one's schema first
                tokens = [_token(env, f"{who}@demo.invalid") for who in ("manager", "police", "practitioner")]
                server, port = serve(env)
                served.append((server, port, env, tokens))
            stores = [(port, *operations_of(env, port, *tokens)) for _, port, env, tokens in served]
            rows: dict[str, list[float]] = {}
            for name in stores[0][1]:
                if name.startswith(WINDOWS):
                    continue
                timed = _in_turn([_api_request(port, *ops[name][:2]) for port, ops, *_ in stores], args.times)
                rows[name] = [statistics.median(t) for t in timed]
            pages = [role_pages(contact, org, police) for _, _, contact, org, police in stores]
            for role, (email, paths) in pages[0].items():
                browsers = [_Browser(port, email) for port, *_ in stores]
                for i, path in enumerate(paths):
                    each = [store_pages[role][1][i] for store_pages in pages]
                    try:
                        timed = _in_turn([_page_request(b, p) for b, p in zip(browsers, each, strict=True)], args.times)
                    except RuntimeError as exc:
                        print(f"  skipped {role} {path}: {exc}", flush=True)
                        continue
                    rows[f"page ({role}) {_path_name(path, stores[0][2])}"] = [statistics.median(t) for t in timed]
            # "decided today" again once a day's work is in it: before any of today's decisions it is an empty page
            for _, port, _, (manager, police, practitioner) in served:
                _a_days_work(port, police, practitioner, manager, _contacts(40_000, seed=port))
            timed = _in_turn([_api_request(port, *ops["queue: decided today"][:2]) for port, ops, *_ in stores],
                             args.times)
            rows["queue: decided today, after a day's work"] = [statistics.median(t) for t in timed]
        finally:
            for server, *_ in served:
                server.terminate()
                server.wait(timeout=60)
    print(f"seconds, medians of {args.times} in turn; load {os.getloadavg()[0]:.1f}")
    print(f"{'operation':<52}{'small':>10}{'large':>10}     ratio")
    for name, (small, large) in rows.items():
        print(f"{name:<52}{small:>10.4f}{large:>10.4f}{large / small:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
