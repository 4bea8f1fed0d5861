"""What-if replay speed and memory for 10,000 and 50,000 contacts (a benchmark, not a test).

Builds a SQLite store of synthetic contacts (``training.generate``) spread over 120 days, with
children who come back (about a third of children are seen again), decisions on 60% and reviews
on half of those, then replays windows holding the first 10,000 and all 50,000 contacts through a
draft guidance (one indicator raised a level) and the served model, as ``flask triage what-if``
does. Prints the median wall time of ``--repeat`` runs for each window, and the peak Python memory
of one more run under ``tracemalloc`` (allocations made by the replay, so the two windows can be
compared: flat memory means the peak does not grow with the window), and the process's peak RSS.
The machine may be shared: the median CPU time of the process is printed beside the wall time.

    .venv/bin/python benchmarks/bench_whatif.py [--sizes 10000 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TRIAGE_ENV", "test")

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from training.generate import generate  # noqa: E402
from triage.app import MIGRATIONS, create_app  # noqa: E402
from triage.engine.guidance import load_guidance  # noqa: E402
from triage.engine.history import KnownHistory  # noqa: E402
from triage.engine.whatif import score_batch  # noqa: E402
from triage.extensions import db  # noqa: E402
from triage.record.tables import Child, ChildRecord, Contact, Decision, Organisation, Review, new_id  # noqa: E402
from triage.services import accounts, whatif  # noqa: E402

THRESHOLDS = ROOT / "config" / "thresholds.yaml"
START = datetime(2026, 6, 1, tzinfo=timezone.utc)
DAYS = 120


def draft_file(tmp: str) -> Path:
    text = THRESHOLDS.read_text(encoding="utf-8")
    path = Path(tmp) / "draft.yaml"
    path.write_text(text.replace("  - id: L2_DA_CHILD_IN_HOUSEHOLD\n    level: 2\n",
                                 "  - id: L3_DA_CHILD_IN_HOUSEHOLD\n    level: 3\n")
                    .replace('guidance_version: "2026.1"', 'guidance_version: "bench draft"'), encoding="utf-8")
    return path


def seed(app, n: int) -> list[datetime]:
    """``n`` contacts in the store, oldest first; returns their accepted times."""
    rng = random.Random(7)
    recommender = app.extensions["recommender"]
    guidance, model = recommender.guidance, recommender.model
    with app.app_context():
        worker = accounts.create_user("bench@front.invalid", "practitioner", password="a long bench passphrase")
        manager = accounts.create_user("lead@front.invalid", "manager", password="a long bench passphrase")
        orgs = {}
        times = [START + timedelta(seconds=DAYS * 86400 * i / n) for i in range(n)]
        pool: list[str] = []
        for offset in range(0, n, 5000):
            records = list(generate(min(5000, n - offset), seed=1000 + offset))
            contacts = [r["contact"] for r in records]
            at = times[offset:offset + len(contacts)]
            floors = [guidance.evaluate(c, received_at=t).floor_level for c, t in zip(contacts, at, strict=True)]
            outs = score_batch(model, contacts, floors, [KnownHistory()] * len(contacts), guidance.config.checks.next_step)
            rows, kids, new_records, decisions = [], [], [], []
            for c, t, floor, o in zip(contacts, at, floors, outs, strict=True):
                name = c["source"]["organisation"]
                if name not in orgs:
                    org = Organisation(name=name)
                    db.session.add(org)
                    db.session.flush()
                    orgs[name] = org.id
                cid = new_id()
                rec = {"floor": {"level": floor, "indicators": []}, "level": o.level, "next_step": o.next_step,
                       "checks": [{"agency": "police"}] * o.checks, "guidance_sha256": guidance.config.sha256,
                       "guidance_version": guidance.config.label, "model_version": model.version}
                rows.append({"id": cid, "organisation_id": orgs[name], "partner_reference": cid[:30],
                             "source_code": c["source"]["code"], "primary_concern": c["primary_concern"],
                             "received_at": t, "accepted_at": t, "payload": c, "recommendation": rec,
                             "floor_level": floor, "recommended_level": o.level, "created_by_id": worker.id,
                             "status": "awaiting_decision"})
                for pos, ch in enumerate(c["children"]):
                    if pool and rng.random() < 0.33:
                        child_id = rng.choice(pool[-3000:])
                    else:
                        child_id = new_id()
                        new_records.append({"id": child_id, "created_at": t})
                        pool.append(child_id)
                    kids.append({"contact_id": cid, "position": pos, "child_reference": ch["child_reference"],
                                 "age_years": ch.get("age_years"), "unborn": bool(ch.get("unborn")),
                                 "child_id": child_id})
                if rng.random() < 0.6:
                    decisions.append({"contact_id": cid, "level": o.level, "rationale": "bench",
                                      "marac_referral": rng.random() < 0.05, "decided_by_id": worker.id,
                                      "decided_at": t + timedelta(hours=rng.randint(1, 72))})
            db.session.execute(insert(Contact), rows)
            db.session.execute(insert(ChildRecord), new_records)
            db.session.execute(insert(Child), kids)
            db.session.execute(insert(Decision), decisions)
            db.session.flush()
            made = db.session.execute(Decision.__table__.select().where(
                Decision.contact_id.in_([d["contact_id"] for d in decisions]))).all()
            reviews = [{"contact_id": d.contact_id, "decision_id": d.id, "outcome": "confirmed", "level": d.level,
                        "rationale": "bench review", "reviewed_by_id": manager.id,
                        "reviewed_at": d.decided_at + timedelta(hours=4)} for d in made[::2]]
            db.session.execute(insert(Review), reviews)
            db.session.commit()
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db"})
        with app.app_context():
            upgrade(directory=MIGRATIONS)
        start = time.perf_counter()
        times = seed(app, max(args.sizes))
        print(f"seeded {len(times)} contacts in {time.perf_counter() - start:.0f} s (not timed below)")
        draft = load_guidance(draft_file(tmp))
        recommender = app.extensions["recommender"]

        def run(size: int) -> dict:
            end = times[size - 1] + timedelta(seconds=1)
            with app.app_context():
                report = whatif.replay(draft, recommender.model, start=START, end=end, in_force=recommender.guidance,
                                       served_model=recommender.model.version)
                db.session.rollback()
            assert report["contacts"] == size, report["contacts"]
            return report

        run(min(args.sizes))  # warm up
        for size in args.sizes:
            seconds, cpu = [], []
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                report = run(size)
                seconds.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            tracemalloc.start()
            run(size)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"{size:>6} contacts: median {statistics.median(seconds):6.1f} s over {args.repeat} runs "
                  f"({size / statistics.median(seconds):,.0f} contacts/s), CPU {statistics.median(cpu):6.1f} s; peak Python memory during the replay "
                  f"{peak / 2**20:6.1f} MiB; floors changed {report['floors']['changed']}, "
                  f"recommendations changed {report['recommendations']['changed']}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"process peak RSS (seeding included): {rss:.0f} MiB")


if __name__ == "__main__":
    main()
