"""EXPLAIN ANALYZE every SELECT the queues, the contact list and a month's reports run, on PostgreSQL.

    .venv/bin/python benchmarks/explain_queries.py --url postgresql+psycopg://postgres@127.0.0.1:5432/scale_bench

Each request is made as a manager through the app (as ``bench_queries.py`` does); every SELECT it
runs is then explained with its own parameters, and the plan's node lines are printed with the
statement's first words, so index use (or a sequential scan) is visible per query.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta

sys.path.insert(0, os.getcwd())
os.environ.setdefault("TRIAGE_ENV", "development")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    args = parser.parse_args()

    from sqlalchemy import event

    from benchmarks.manager_api import manager_api
    from triage.extensions import db

    app, headers, today = manager_api(args.url)
    with app.app_context():
        engine = db.engine
    month = today - timedelta(days=30)
    client = app.test_client()
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "api_tokens" not in statement:
            captured.append((statement, parameters))

    cursor = client.get("/api/v1/contacts?per_page=50", headers=headers).get_json()["next_cursor"]
    urls = ["/api/v1/contacts?per_page=50", f"/api/v1/contacts?per_page=50&cursor={cursor}",
            "/api/v1/queues/awaiting-decision", "/api/v1/queues/overdue", "/api/v1/queues/awaiting-my-review",
            "/api/v1/queues/reviews-overdue", "/api/v1/queues/decided-today",
            f"/api/v1/reports/dashboard?from={month}&to={today}"]
    for url in urls:
        captured.clear()
        event.listen(engine, "before_cursor_execute", capture)
        assert client.get(url, headers=headers).status_code == 200, url
        event.remove(engine, "before_cursor_execute", capture)
        print(f"=== {url}")
        with engine.connect() as conn:
            for statement, parameters in captured:
                if " FROM users" in statement and "WHERE users.id" in statement:
                    continue
                plan = conn.exec_driver_sql("EXPLAIN ANALYZE " + statement, parameters).scalars().all()
                print("  -- " + " ".join(statement.split())[:110])
                for line in plan:
                    if "->" in line or line == plan[0] or "Execution Time" in line:
                        print("     " + line.strip()[:140])


if __name__ == "__main__":
    main()
