"""Issue 19 item 2: the partner report, Annex A Lists 1 and 3 and the training export, timed on a loaded store.

    DATABASE_URL=sqlite:////tmp/store.db .venv/bin/python benchmarks/bench_reports.py
    DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/bench_reports.py --code /work/main

The store is one loaded by ``flask triage seed-volume --contacts N`` (and, for PostgreSQL, copied
with benchmarks/copy_store.py). ``--code`` times another checkout's code (e.g. main, for before
and after) on the same store. In one process, inside the app: the median of ``--times`` runs of
the partner report for the busiest organisation's latest full month, each Annex A list and the
training export for that month and for the year ending with it (the whole file read, and the
seconds to its first piece), then the process's peak resident memory. The exports record their
contacts as read, as the service does, so the store grows a little with each run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default=str(Path(__file__).resolve().parent.parent),
                        help="the checkout whose code is timed (default: this one)")
    parser.add_argument("--times", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, args.code)
    os.chdir(args.code)
    os.environ.setdefault("TRIAGE_ENV", "development")

    from sqlalchemy import func, select

    from triage.app import create_app
    from triage.engine.workdays import london_date
    from triage.extensions import db
    from triage.record.tables import Contact, Organisation, User
    from triage.reporting import exports, reports

    try:
        from triage.reporting.partner_report import organisation_report
    except ImportError:  # the code before issue 19 item 2
        organisation_report = reports.organisation_report
    training = getattr(exports, "training_chunks", None)

    app = create_app()
    with app.app_context():
        contacts, newest = db.session.execute(select(func.count(Contact.id), func.max(Contact.accepted_at))).one()
        month = reports.add_months(london_date(newest).replace(day=1), -1)
        month_last = reports.add_months(month, 1) - timedelta(days=1)
        year_first = reports.add_months(month, -11)
        org_id = db.session.execute(select(Contact.organisation_id).group_by(Contact.organisation_id)
                                    .order_by(func.count().desc()).limit(1)).scalar()
        org = db.session.get(Organisation, org_id)
        manager = db.session.scalar(select(User).where(User.role == "manager").limit(1))
        levels = app.extensions["recommender"].guidance.levels
        print(f"code: {args.code}  store: {db.engine.url.render_as_string(hide_password=True)}, {contacts} contacts; "
              f"month {month:%Y-%m}, year {year_first:%Y-%m} to {month:%Y-%m}; partner {org.name}")

        def timed(label: str, make) -> None:
            totals, firsts, size = [], [], 0
            for _ in range(args.times):
                db.session.rollback()
                started = time.perf_counter()
                answer = make()
                if isinstance(answer, (str, dict)):
                    first = time.perf_counter()
                    size = len(answer)
                else:
                    pieces = iter(answer)
                    size = len(next(pieces, ""))
                    first = time.perf_counter()
                    size += sum(len(piece) for piece in pieces)
                totals.append(time.perf_counter() - started)
                firsts.append(first - started)
                db.session.commit()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  {label:<28} median {statistics.median(totals):7.2f} s   first piece "
                  f"{statistics.median(firsts):6.2f} s   {size:>10} chars   peak RSS so far {peak:5.0f} MB")

        timed("partner report, month", lambda: organisation_report(org, month, None, levels))
        for n in (1, 3):
            timed(f"Annex A List {n}, month", lambda n=n: exports.annex_a_chunks(n, month, month_last, manager))
            timed(f"Annex A List {n}, year", lambda n=n: exports.annex_a_chunks(n, year_first, month_last, manager))
        for label, first in (("training export, month", month), ("training export, year", year_first)):
            if training is not None:
                timed(label, lambda first=first: training(first, month_last, manager))
            else:
                timed(label, lambda first=first: exports.training_jsonl(first, month_last, manager))


if __name__ == "__main__":
    main()
