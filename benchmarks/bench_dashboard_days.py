"""Time the dashboard over a month, a year and 366 days, cold and warm (issue 15 finding 5).

    .venv/bin/python benchmarks/bench_dashboard_days.py --url sqlite:////tmp/copy.db [--repeat 5]

Run from a checkout's root against a COPY of a loaded store (it writes: the per-day summaries in
``dashboard_days`` and a manager's API token), migrated to this branch. Each request goes through
the Flask app as a manager's API request (``/api/v1/reports/dashboard``), windows ending on the
newest contact's London day, "now" the real clock.

* cold: ``dashboard_days`` emptied before each request (the first read after a load or a restore:
  every day counted from the contacts, and the closed, settled ones kept);
* warm: the same request again (closed, unchanged days read from their summaries);
* off: the same figures counted without summaries (``dashboard_for(..., summaries=False)``, no HTTP);
* page: the manager's page (``/reports/dashboard``, HTML, signed in through the form), warm.

The last line is the warm year (366 days) over the warm month for the API and the page: "any
range within the time of one month" (issue 15), where 1.5 is the ratio issue 19 calls "the same".

Prints the median of ``--repeat`` runs in seconds, the statements of the last run, the days it read
from summaries and counted from the contacts (the load-independent figure), the summaries kept
after it, and the load average (1 minute) before and after each line: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.getcwd())
os.environ.setdefault("TRIAGE_ENV", "development")


def load() -> str:
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from sqlalchemy import event, func, select

    from benchmarks.manager_api import manager_api
    from triage.extensions import db
    from triage.record.tables import Contact, DashboardDay
    from triage.reporting import dashboard, daysum
    from triage.reporting.dashboard import dashboard_for

    app, headers, today = manager_api(args.url, WTF_CSRF_ENABLED=False)
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Contact))
        engine = db.engine
        levels = app.extensions["recommender"].guidance.levels
    client, browser = app.test_client(), app.test_client()
    signed = browser.post("/login", data={"email": "manager@demo.invalid", "password": "demo-password-2026"})
    assert signed.status_code == 302, "the demo manager's sign-in (the README's demo password) failed"
    statements, days_seen = [0], [0, 0]
    summarised = dashboard._summarised

    def counted(*args):
        """How many days the last dashboard read from summaries and counted from the contacts (load-independent)."""
        summary = summarised(*args)
        days_seen[:] = [summary.kept_days, len(summary.days) - summary.kept_days]
        return summary

    dashboard._summarised = counted
    event.listen(engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))

    def clear() -> None:
        with app.app_context():
            daysum.clear()

    def kept() -> int:
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(DashboardDay))

    def request(first, last) -> None:
        response = client.get(f"/api/v1/reports/dashboard?from={first}&to={last}", headers=headers)
        assert response.status_code == 200, response.get_data()[:300]

    def page(first, last) -> None:
        response = browser.get(f"/reports/dashboard?from={first}&to={last}")
        assert response.status_code == 200, response.get_data()[:300]

    def off(first, last) -> None:
        with app.app_context():
            dashboard_for(first, last, datetime.now(timezone.utc), levels, summaries=False)

    def timed(run, before=None) -> tuple[float, int]:
        times = []
        for _ in range(args.repeat):
            if before:
                before()
            statements[0] = 0
            began = time.perf_counter()
            run()
            times.append(time.perf_counter() - began)
        return statistics.median(times), statements[0]

    print(f"{total} contacts, {engine.dialect.name}, code at {os.getcwd()}, median of {args.repeat}, "
          f"windows end {today}")
    print(f"  {'window':<12} {'mode':<5} {'seconds':>8} {'stmts':>6} {'days read/counted':>17} {'kept after':>10}"
          "  load before/after")
    warm: dict[tuple[str, str], float] = {}
    for name, days in (("one month", 31), ("one year", 365), ("366 days", 366)):
        first = today - timedelta(days=days - 1)
        for mode, run, before in (("off", lambda f=first: off(f, today), None),
                                  ("cold", lambda f=first: request(f, today), clear),
                                  ("warm", lambda f=first: request(f, today), None),
                                  ("page", lambda f=first: page(f, today), None)):
            was = load()
            seconds, count = timed(run, before)
            warm[name, mode] = seconds
            read_counted = f"{days_seen[0]}/{days_seen[1]}"
            print(f"  {name:<12} {mode:<5} {seconds:8.3f} {count:6d} {read_counted:>17} {kept():10d}  {was}/{load()}",
                  flush=True)
    print(f"  366 days over one month, warm: API {warm['366 days', 'warm'] / warm['one month', 'warm']:.2f}, "
          f"page {warm['366 days', 'page'] / warm['one month', 'page']:.2f}")


if __name__ == "__main__":
    main()
