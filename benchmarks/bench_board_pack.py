"""Issue 19: the board pack and a year's Annex A List 1, timed in one process on a loaded store (medians).

    DATABASE_URL=sqlite:////tmp/store.db .venv/bin/python benchmarks/bench_board_pack.py
    DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/bench_board_pack.py --code /work/main

The store is one loaded by ``flask triage seed-volume`` (use a copy: the export records its reads).
``--code`` times another checkout's code (before and after) on the same store. Inside the app, the
median of ``--times`` runs of: the board pack as the page computes it (the six weeks ending
yesterday and the three periods before), with the statements it runs; the page itself through
the test client signed in as the demo manager; and the year's Annex A List 1 (the year ending
with last month): seconds to its first piece and to its end. Then the process's peak resident
memory. The load average is printed beside the figures (the machine is shared), and the process's
CPU seconds, which a busy machine moves less (on SQLite they include the database's work).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--times", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, args.code)
    os.chdir(args.code)
    os.environ.setdefault("TRIAGE_ENV", "development")

    from sqlalchemy import event, func, select

    from triage.app import create_app
    from triage.engine.workdays import london_date, london_today
    from triage.extensions import db
    from triage.record.tables import Contact, User
    from triage.reporting import board_pack, exports, reports

    try:
        from triage.reporting.board_counts import board_pack_for
    except ImportError:  # the code before: every contact of the periods and the year before read into Python

        def board_pack_for(first, now):
            spans = board_pack.periods(first)
            return board_pack.board_pack(board_pack.load(spans[0], spans[-1]), first, now)

    app = create_app()
    statements = [0]
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a, **k: statements.__setitem__(0, statements[0] + 1))
        contacts, newest = db.session.execute(select(func.count(Contact.id), func.max(Contact.accepted_at))).one()
        month = reports.add_months(london_date(newest).replace(day=1), -1)
        year_first, month_last = reports.add_months(month, -11), reports.add_months(month, 1) - timedelta(days=1)
        manager = db.session.scalar(select(User).where(User.role == "manager").limit(1))
        first = london_today() - timedelta(days=board_pack.PERIOD_DAYS)
        print(f"code: {args.code}\nstore: {db.engine.url.render_as_string(hide_password=True)}, {contacts} contacts; "
              f"board pack from {first}; List 1 {year_first:%Y-%m} to {month:%Y-%m}")

        def show(label: str, values: list[float], extra: str = "", cpu: list[float] | None = None) -> None:
            if cpu:
                extra += f"  this process's CPU median {statistics.median(cpu):.3f} s"
            print(f"{label:42} median {statistics.median(values):7.3f} s  (min {min(values):.3f}, max {max(values):.3f}, "
                  f"n={len(values)}){extra}  load {Path('/proc/loadavg').read_text().split()[0]}", flush=True)

        runs, counts, cpu = [], [], []
        for _ in range(args.times):
            db.session.rollback()
            statements[0] = 0
            started, cpu_started = time.perf_counter(), time.process_time()
            board_pack_for(first, datetime.now(timezone.utc))
            runs.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            counts.append(statements[0])
        show("board pack figures", runs, f"  statements {statistics.median(counts):.0f}", cpu)

        totals, firsts, cpu_firsts, cpu = [], [], [], []
        for _ in range(args.times):
            db.session.rollback()
            started, cpu_started = time.perf_counter(), time.process_time()
            pieces = exports.annex_a_chunks(1, year_first, month_last, manager)
            next(pieces)
            firsts.append(time.perf_counter() - started)
            cpu_firsts.append(time.process_time() - cpu_started)
            for _piece in pieces:
                pass
            totals.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        show("Annex A List 1, one year: first piece", firsts, cpu=cpu_firsts)
        show("Annex A List 1, one year: whole file", totals, cpu=cpu)

    client = app.test_client()
    with client:
        page = client.get("/login")
        import re

        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
        client.post("/login", data={"email": "manager@demo.invalid", "password": "demo-password-2026",
                                    "csrf_token": token.group(1) if token else ""})
        pages, cpu = [], []
        for _ in range(args.times):
            started, cpu_started = time.perf_counter(), time.process_time()
            answer = client.get("/reports/board-pack")
            pages.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            assert answer.status_code == 200, answer.status_code
        show("board pack page (/reports/board-pack)", pages, cpu=cpu)
    print(f"peak resident memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
