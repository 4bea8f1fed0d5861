"""Time the queues, the contact list, the reports and the Annex A lists on a loaded store.

    .venv/bin/python benchmarks/bench_queries.py --url sqlite:////tmp/scale.db [--repeat 3]

Run from a checkout's root (its ``triage`` package is the code measured), against a store loaded
by ``benchmarks/scale_load.py``. Every operation goes through the Flask app as a manager's API
request (authentication, access policy, the audit record and the JSON or CSV included), in this
process (the report windows end on the day of the newest contact stored); it prints the median of ``--repeat`` runs, in seconds, and the statements each ran.
Exports record their reads in the audit chain, so each run adds events.
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
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="run only operations whose name contains this")
    parser.add_argument("--skip", default="", help="leave out operations whose name contains this")
    args = parser.parse_args()

    from sqlalchemy import event, func, select

    from benchmarks.manager_api import manager_api
    from triage.extensions import db
    from triage.record.tables import Contact

    app, headers, today = manager_api(args.url)  # windows end with the newest contact stored
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Contact))
        org = db.session.scalar(select(Contact.organisation_id).group_by(Contact.organisation_id)
                                .order_by(func.count().desc()).limit(1))
        engine = db.engine
    client = app.test_client()
    month, year = today - timedelta(days=30), today - timedelta(days=365)
    last_page = (total + 49) // 50
    ops = [
        ("contact list, first page", "/api/v1/contacts?per_page=50"),
        (f"contact list, last page (page={last_page})", f"/api/v1/contacts?per_page=50&page={last_page}"),
        ("queue awaiting-decision", "/api/v1/queues/awaiting-decision"),
        ("queue overdue", "/api/v1/queues/overdue"),
        ("queue awaiting-my-review", "/api/v1/queues/awaiting-my-review"),
        ("queue reviews-overdue", "/api/v1/queues/reviews-overdue"),
        ("queue decided-today", "/api/v1/queues/decided-today"),
        ("queue awaiting-checks", "/api/v1/queues/awaiting-checks"),
        ("dashboard, one month", f"/api/v1/reports/dashboard?from={month}&to={today}"),
        ("dashboard, one year", f"/api/v1/reports/dashboard?from={year}&to={today}"),
        ("partner report, one month", f"/api/v1/reports/partners/{org}?month={today:%Y-%m}"),
        ("Annex A List 1, one month", f"/api/v1/exports/annex-a/list-1.csv?from={month}&to={today}"),
        ("Annex A List 1, one year", f"/api/v1/exports/annex-a/list-1.csv?from={year}&to={today}"),
        ("Annex A List 3, one month", f"/api/v1/exports/annex-a/list-3.csv?from={month}&to={today}"),
    ]
    statements = [0]

    def count(*_):
        statements[0] += 1

    from triage.engine.workdays import london_days
    from triage.reporting import exports

    def list_rows(number: int, first, last) -> int:
        """The file's rows without recording the export (the audit record is issue 19 item 1's)."""
        start, end = london_days(first, last)
        with app.app_context():
            if hasattr(exports, "stream_list_1"):  # this branch: streamed from column queries
                rows = exports.stream_list_1(start, end) if number == 1 else exports.stream_list_3(start, end)
                heads = exports.LIST_1_HEADINGS if number == 1 else exports.LIST_3_HEADINGS
                return len("".join(exports.csv_chunks(heads, rows)))
            if number == 1:  # before: every contact as an ORM object, then the rows in Python
                rows = exports.list_1_rows(exports.load_facts(start, end), start, end)
                return len(exports.to_csv(exports.LIST_1_HEADINGS, rows))
            rows = exports.list_3_rows(exports.load_facts(start - exports.TWELVE_MONTHS, end), start, end)
            return len(exports.to_csv(exports.LIST_3_HEADINGS, rows))

    ops += [
        ("List 1 rows only (no audit), one month", lambda: list_rows(1, month, today)),
        ("List 1 rows only (no audit), one year", lambda: list_rows(1, year, today)),
        ("List 3 rows only (no audit), one month", lambda: list_rows(3, month, today)),
    ]
    event.listen(engine, "before_cursor_execute", count)
    print(f"{total} contacts, {engine.dialect.name}, code at {os.getcwd()}, median of {args.repeat}")
    for name, url in ops:
        if (args.only and args.only not in name) or (args.skip and args.skip in name):
            continue
        times, size = [], 0
        for _ in range(args.repeat):
            statements[0] = 0
            began = time.perf_counter()
            if callable(url):
                size = url()
                times.append(time.perf_counter() - began)
                continue
            response = client.get(url, headers=headers)
            body = response.get_data()
            times.append(time.perf_counter() - began)
            assert response.status_code == 200, (url, response.status_code, body[:300])
            size = len(body)
        print(f"  {name:<42} {statistics.median(times):8.3f} s  {statements[0]:6d} statements  {size:>10,} bytes",
              flush=True)


if __name__ == "__main__":
    main()
