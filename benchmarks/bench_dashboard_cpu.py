"""The dashboard's API answer and page, a month against a year, in CPU time (issue 15: any range in the time of a month).

    .venv/bin/python benchmarks/bench_dashboard_cpu.py sqlite:////tmp/copy.db [--times 30]

Run from a checkout's root against a COPY of a loaded SQLite store (it adds a manager's API token
and keeps per-day summaries), migrated to this branch. Each request goes through the Flask test
client as the demo manager, to the API (``/api/v1/reports/dashboard``) and to the page
(``/reports/dashboard``, signed in with the README's demo password), windows ending on the newest
contact's London day; one request first warms the summaries. SQLite runs in this process, so its CPU time
(``time.process_time``) is the whole cost and moves far less with the machine's other load than
wall time (``bench_dashboard_days.py`` gives wall times, cold and warm). Prints the minimum and
median of ``--times`` requests per window, twice in turn, and the year over the month; then a
worker's first year (a new app, holding no kept day: ``reporting/daysum.py``), five times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.getcwd())
os.environ.setdefault("TRIAGE_ENV", "development")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="a SQLite store's URL (its CPU is this process's)")
    parser.add_argument("--times", type=int, default=30)
    args = parser.parse_args()

    from benchmarks.manager_api import manager_api

    app, headers, today = manager_api(args.url, WTF_CSRF_ENABLED=False)
    client, browser = app.test_client(), app.test_client()
    signed = browser.post("/login", data={"email": "manager@demo.invalid", "password": "demo-password-2026"})
    assert signed.status_code == 302, "the demo manager's sign-in (the README's demo password) failed"
    for answer, path, asker, sent in (("API", "/api/v1/reports/dashboard", client, headers),
                                      ("page", "/reports/dashboard", browser, {})):
        print(f"{answer} ({path}):")
        found: dict[str, list[float]] = {"month": [], "year": []}
        for name, days in (("month", 31), ("year", 366)) * 2:
            url = f"{path}?from={today - timedelta(days=days - 1)}&to={today}"
            assert asker.get(url, headers=sent).status_code == 200
            times = []
            for _ in range(args.times):
                began = time.process_time()
                asker.get(url, headers=sent)
                times.append(time.process_time() - began)
            found[name].append(min(times))
            print(f"  {name:<6} CPU min {min(times) * 1000:6.1f} ms, median {statistics.median(times) * 1000:6.1f} ms",
                  flush=True)
        print(f"  year over month (minimums): {min(found['year']) / min(found['month']):.2f}")
    first_years = []
    for _ in range(5):  # a new app is a new worker: it holds no kept day yet (its other first-request costs too)
        fresh, headers, _ = manager_api(args.url)
        began = time.process_time()
        assert fresh.test_client().get(f"/api/v1/reports/dashboard?from={today - timedelta(days=365)}&to={today}",
                                       headers=headers).status_code == 200
        first_years.append(time.process_time() - began)
    print(f"a worker's first year (API, new app): CPU median {statistics.median(first_years) * 1000:6.1f} ms")

if __name__ == "__main__":
    main()
