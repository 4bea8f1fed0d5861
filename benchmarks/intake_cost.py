"""What one partner intake costs in-process, in figures a busy machine does not move (issue 19).

    DATABASE_URL=sqlite:///path/store.db .venv/bin/python benchmarks/intake_cost.py
    DATABASE_URL=postgresql+psycopg://... INTAKE_POSTS=200 .venv/bin/python benchmarks/intake_cost.py --profile

On a store already loaded (``flask triage seed-volume``; a SQLite store is copied first, so it is
left as it was; on PostgreSQL the posted contacts stay): ``POST /api/v1/contacts`` through Flask's
test client with the police partner's token, ``INTAKE_POSTS`` times (default 200) after a warm-up.
Prints per intake: SQL statements (SQLAlchemy ``before_cursor_execute``), transactions committed,
CPU time of this process (``time.process_time``: the database server's own CPU on PostgreSQL is
not in it), and on PostgreSQL the WAL bytes written (every row and index entry; the server's
whole WAL, so run it alone). With ``--profile``, a second run under cProfile (CPU time) prints where the time goes, by step;
with ``--statements``, one intake's SQL is printed first.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import ROOT, _contacts, store_in_use  # noqa: E402

sys.path.insert(0, str(ROOT))

#: The steps of an intake the profile names, as (label, file suffix, function); cumulative seconds each.
STEPS = (
    ("whole request (test client)", "flask/app.py", "full_dispatch_request"),
    ("token lookup", "http/access.py", "user_from_token"),
    ("rate limit", "http/access.py", "_within_rate_limit"),
    ("read JSON body", "api/contacts.py", "read_json_body"),
    ("contract validation", "engine/contract.py", "validate_contact"),
    ("store and record", "services/intake.py", "_store"),
    ("  identifiers", "services/identity.py", "check_identifiers"),
    ("  duplicate lookup", "services/intake.py", "find_existing"),
    ("  child records", "services/identity.py", "find_or_make_record"),
    ("  known history", "services/children.py", "known_history"),
    ("  scoring and explanation", "services/intake.py", "score"),
    ("  guidance version served", "services/guidance_versions.py", "record_served"),
    ("  contact insert", "record/inserts.py", "insert_contact"),
    ("  audit append", "record/audit.py", "record_opening"),
    ("  content digest", "record/audit.py", "content_digest"),
    ("  commit", "orm/session.py", "commit"),
    ("response body", "api/contacts.py", "contact_json"),
    ("jsonify", "flask/json/__init__.py", "jsonify"),
)


def _post(client, token: str, bodies) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for body in bodies:
        answer = client.post("/api/v1/contacts", data=body, headers=headers)
        if answer.status_code != 201:
            sys.exit(f"intake answered {answer.status_code}: {answer.get_data(as_text=True)[:300]}")


def _police_token(app) -> tuple[str, int]:
    """A fresh API token of the demo police partner, and how many contacts the store holds."""
    from sqlalchemy import select

    from triage.extensions import db
    from triage.record.tables import User
    from triage.services import accounts

    with app.app_context():
        police = db.session.scalar(select(User).where(User.email == "police@demo.invalid"))
        _, token = accounts.issue_token(police)
        contacts = db.session.execute(db.text("SELECT count(*) FROM contacts")).scalar()
        db.session.remove()
    return token, contacts


def _profile_table(profile: cProfile.Profile, posts: int) -> None:
    stats = pstats.Stats(profile).stats
    print(f"  profile (cumulative CPU ms per intake, under cProfile, {posts} intakes):")
    for label, suffix, name in STEPS:
        total = sum(cumulative for (path, _line, func), (_cc, _nc, _tt, cumulative, _callers) in stats.items()
                    if func == name and path.endswith(suffix))
        print(f"    {label:<32} {total / posts * 1000:8.2f}")


def _wal_position(app) -> int | None:
    """PostgreSQL's WAL insert position in bytes (what every change writes, indexes included); None on SQLite."""
    from triage.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return None
        position = db.session.execute(db.text(
            "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')")).scalar()
        db.session.remove()
    return int(position)


def main() -> None:
    os.environ.setdefault("TRIAGE_ENV", "development")
    with store_in_use(os.environ["DATABASE_URL"]) as url:
        _measure(url)


def _measure(url: str) -> None:
    from sqlalchemy import event

    from triage.app import create_app
    from triage.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "API_RATE_LIMIT": 100_000_000})
    posts = int(os.environ.get("INTAKE_POSTS", 200))
    counts = {"statements": 0, "commits": 0, "locked": 0, "locked_cpu": 0.0, "locked_wall": 0.0}
    lock: list[tuple[float, float]] = []  # while SQLite's write lock is held: when it was taken (CPU, wall)
    show = []  # non-empty while one intake's statements are printed (--statements)
    bodies = [json.dumps(c) for c in _contacts(40_000, seed=int(time.time()) % 1_000_000)]
    try:
        token, contacts_before = _police_token(app)
        with app.app_context():

            @event.listens_for(db.engine, "before_cursor_execute")
            def _statement(_conn, _cursor, statement, *_args):
                counts["statements"] += 1
                if lock:
                    counts["locked"] += 1
                if statement == "BEGIN IMMEDIATE":
                    lock.append((time.process_time(), time.perf_counter()))
                if show:
                    print("   ", " ".join(statement.split())[:150])

            @event.listens_for(db.engine, "commit")
            def _commit(*_args):
                counts["commits"] += 1
                if lock:
                    cpu, wall = lock.pop()
                    counts["locked_cpu"] += time.process_time() - cpu
                    counts["locked_wall"] += time.perf_counter() - wall

            @event.listens_for(db.engine, "rollback")
            def _rollback(*_args):
                if lock:
                    cpu, wall = lock.pop()
                    counts["locked_cpu"] += time.process_time() - cpu
                    counts["locked_wall"] += time.perf_counter() - wall

        client = app.test_client()
        _post(client, token, bodies[:10])  # warm: the recommender's caches, the ORM's compiled statements
        if "--statements" in sys.argv:
            print("  the statements of one intake:")
            show.append(True)
            _post(client, token, bodies[10:11])
            show.clear()
            bodies = bodies[1:]
        counts.update(statements=0, commits=0, locked=0, locked_cpu=0.0, locked_wall=0.0)
        wal_from = _wal_position(app)
        started, wall = time.process_time(), time.perf_counter()
        _post(client, token, bodies[10:10 + posts])
        cpu, wall = time.process_time() - started, time.perf_counter() - wall
        wal_bytes = _wal_position(app) - wal_from if wal_from is not None else None
        print(f"{url.split(':')[0]}: {posts} intakes on a store of {contacts_before} contacts")
        print(f"  statements per intake   {counts['statements'] / posts:6.2f}")
        print(f"  commits per intake      {counts['commits'] / posts:6.2f}")
        print(f"  CPU ms per intake       {cpu / posts * 1000:6.2f}   (time.process_time, this process)")
        print(f"  wall ms per intake      {wall / posts * 1000:6.2f}   (the database's time and waits included)")
        if wal_bytes is not None:
            print(f"  WAL bytes per intake   {wal_bytes / posts:7.0f}   (the server's whole WAL: run it alone)")
        if url.startswith("sqlite"):
            print(f"  holding the write lock: {counts['locked'] / posts:6.2f} statements, "
                  f"{counts['locked_cpu'] / posts * 1000:6.2f} CPU ms, {counts['locked_wall'] / posts * 1000:6.2f} ms "
                  "wall per intake (BEGIN IMMEDIATE to its commit or rollback)")
        if "--profile" in sys.argv:
            profile = cProfile.Profile(time.process_time)  # CPU, not wall: waits on locks and disk left out
            profile.enable()
            _post(client, token, bodies[10 + posts:10 + 2 * posts])
            profile.disable()
            _profile_table(profile, posts)
            if os.environ.get("INTAKE_PROFILE_DUMP"):
                profile.dump_stats(os.environ["INTAKE_PROFILE_DUMP"])
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
