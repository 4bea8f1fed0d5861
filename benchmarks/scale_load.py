"""Load a store of N synthetic contacts through the project's own code, for measuring queries.

    .venv/bin/python benchmarks/scale_load.py --url sqlite:////tmp/scale.db --contacts 20000

A quick loader for measuring the queues, lists and reports (issue 19 items 2 and 3); the
official loader is ``triage seed-volume``. Contacts come from the training generator, spread
over the last ``--days`` days, and go in through ``services.intake.submit`` as phone contacts
(so the front door's clock is the call time); all but the last day's are decided through
``services.decisions`` and most of those reviewed, as the demo does. The decision and review
times are set to a few hours after each contact (the services stamp them "now", so the loader sets the columns' defaults), so the
decided-today queue and the timeliness figures look like a working front door's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, os.getcwd())
os.environ.setdefault("TRIAGE_ENV", "development")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--days", type=int, default=400)
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import ColumnDefault

    from training.generate import generate
    from triage.app import MIGRATIONS, create_app
    from triage.extensions import db
    from triage.record.tables import Decision, Review
    from triage.record.workflow import Status
    from triage.services import demo
    from triage.services.demo_outcomes import decide, review
    from triage.services.intake import submit

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url})
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        recommender = app.extensions["recommender"]
        people = demo.ensure_people()
        practitioners = [u for u in people.values() if u.role == "practitioner"]
        managers = [u for u in people.values() if u.role == "manager"]
        now = datetime.now(timezone.utc)
        start = now - timedelta(days=args.days)
        span = (now - start).total_seconds()
        # The services stamp decisions and reviews "now"; a front door decides a few hours after a contact.
        clock = [now]
        Decision.__table__.c.decided_at.default = ColumnDefault(lambda: clock[0] + timedelta(hours=3))
        Review.__table__.c.reviewed_at.default = ColumnDefault(lambda: clock[0] + timedelta(hours=20))
        began = time.monotonic()
        for i, record in enumerate(generate(args.contacts, seed=19)):
            contact = record["contact"]
            accepted = start + timedelta(seconds=span * (i + 0.5) / args.contacts)
            contact["received_at"] = accepted.isoformat(timespec="seconds")
            contact.pop("incident_at", None)
            contact["partner_reference"] = f"SCALE-{i:07d}"
            clock[0] = accepted
            stored = submit(contact, practitioners[i % len(practitioners)], recommender, now=accepted)[0]
            if now - accepted > timedelta(days=1) and i % 20 != 0 and stored.status == Status.AWAITING_DECISION:
                decide(stored, practitioners[i % len(practitioners)], recommender.guidance)
                if i % 10 < 8:
                    review(stored, managers[i % len(managers)], level=None)
            if i % 1000 == 999:
                print(f"{i + 1} contacts in {time.monotonic() - began:.0f} s", flush=True)
        db.session.commit()
        print(f"loaded {args.contacts} contacts in {time.monotonic() - began:.0f} s into "
              f"{Path(args.url).name if args.url.startswith('sqlite') else args.url}")


if __name__ == "__main__":
    main()
