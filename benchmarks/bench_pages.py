"""Each role's pages on a loaded store, in this process: medians and the statements each ran (issue 19).

    .venv/bin/python benchmarks/bench_pages.py --url sqlite:////tmp/s20.db [--repeat 15] [--only /contacts] [--statements]

Run from a checkout's root against a store loaded by ``flask triage seed-volume`` (a SQLite store
is copied first and left as it was). Every page ``bench_scale.py`` times over HTTP (``role_pages``)
is asked for here through Flask's test client, signed in through the sign-in form as each demo
person: after two untimed requests, the median of ``--repeat`` in wall and CPU time, and the SQL
statements of one request. Issue 19 asks that a page not about a window cost the same at 20k and
200k contacts; gunicorn's medians of five are a few ms apart between runs, so a page's statements
at the two sizes (the same count, or one that grows with the store) are the steadier evidence.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import DEMO_PASSWORD, ROOT, _path_name, role_pages, store_in_use  # noqa: E402

sys.path.insert(0, str(ROOT))
os.environ.setdefault("TRIAGE_ENV", "development")


def _signed_in(app, email: str):
    """A test client holding ``email``'s session, through the sign-in form and its CSRF token."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    answer = client.post("/login", data={"email": email, "password": DEMO_PASSWORD,
                                         "csrf_token": token.group(1) if token else ""})
    if answer.status_code != 302:
        sys.exit(f"sign-in as {email} failed ({answer.status_code})")
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--only", default="", help="time only pages whose path matches this regular expression ('^/$': the homes)")
    parser.add_argument("--statements", action="store_true", help="print each statement's median time too")
    args = parser.parse_args()

    with store_in_use(args.url) as url:
        _measure(url, args.repeat, args.only, args.statements)


def _statement_table(timed: list[list[tuple[str, float]]]) -> None:
    """Each statement of the page's requests, in order, with its median ms over the requests that ran it."""
    for position, (statement, _) in enumerate(timed[-1]):
        times = [request[position][1] for request in timed
                 if len(request) > position and request[position][0] == statement]
        print(f"      {statistics.median(times) * 1000:7.2f} ms  {' '.join(statement.split())[:110]}")


def _measure(url: str, repeat: int, only: str, show_statements: bool = False) -> None:
    from sqlalchemy import event, func, select

    from triage.app import create_app
    from triage.extensions import db
    from triage.record.tables import Contact, Organisation

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    try:
        with app.app_context():
            total = db.session.scalar(select(func.count()).select_from(Contact))
            contact_id = db.session.scalar(select(Contact.id).order_by(Contact.accepted_at.desc()).limit(1))
            org_id = db.session.scalar(select(Contact.organisation_id).group_by(Contact.organisation_id)
                                       .order_by(func.count().desc()).limit(1))
            police_id = db.session.scalar(select(Organisation.id).where(Organisation.name == "Demo Police")) \
                or org_id
            timed: list[list[tuple[str, float]]] = []  # per request: (statement, seconds), in order
            started: list[float] = []

            @event.listens_for(db.engine, "before_cursor_execute")
            def _before(*_args):
                started.append(time.perf_counter())

            @event.listens_for(db.engine, "after_cursor_execute")
            def _after(_conn, _cursor, statement, *_args):
                if timed and started:
                    timed[-1].append((statement, time.perf_counter() - started.pop()))
        print(f"{total} contacts, {url.split(':')[0]}, code at {ROOT}, median of {repeat}")
        print(f"  {'page':<58} {'wall s':>8} {'CPU s':>8} {'statements':>10}")
        for role, (email, paths) in role_pages(contact_id, org_id, police_id).items():
            client = _signed_in(app, email)
            for path in (p for p in paths if re.search(only, p)):
                walls, cpus = [], []
                timed.clear()
                for turn in range(repeat + 2):
                    started.clear()
                    timed.append([])
                    wall, cpu = time.perf_counter(), time.process_time()
                    answer = client.get(path)
                    answer.get_data()
                    if answer.status_code >= 400:  # a redirect is that page's answer, as over HTTP
                        sys.exit(f"{role} GET {path}: {answer.status_code}")
                    if turn >= 2:  # the first two compile templates and queries
                        walls.append(time.perf_counter() - wall)
                        cpus.append(time.process_time() - cpu)
                name = f"{role} {_path_name(path, contact_id)}"
                print(f"  {name:<58} {statistics.median(walls):8.4f} {statistics.median(cpus):8.4f} "
                      f"{len(timed[-1]):10d}", flush=True)
                if show_statements:
                    _statement_table(timed[2:])
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
