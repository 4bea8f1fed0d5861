"""Crash safety, as a test (issue 18): workers killed under load lose and duplicate nothing.

The service runs as in production, under gunicorn (``config/gunicorn.conf.py``, two workers with
two threads each) on a free port, on this run's database (a SQLite file, or the PostgreSQL test
database). Three partner clients send unique contacts, retrying a contact the way a partner's
system does (same ``partner_reference``) when the connection drops or the answer is a 5xx, while
a manager downloads Annex A List 1 over and over (so workers die mid-export too, while their
worker has stopped taking connections: ``triage/http/bulk_workers.py``), and a killer sends
SIGKILL to a worker every ``KILL_EVERY`` seconds; gunicorn starts a new one. Then:

- every contact the service acknowledged (201, or 200 for a retry) is stored exactly once, under
  the id it was acknowledged with, and nothing was stored that was never sent;
- retries settled every contact whose answer was lost;
- ``flask --app wsgi triage audit-verify`` says the record is intact (an export cut short by a kill
  is named as such, not as a break);
- intake went on meanwhile: every contact was settled, whichever worker was exporting or dead.

Bounded to about half a minute (``TRIAGE_KILL_SECONDS``, default 12 s of load); the figures
(kills, sent, acknowledged, stored, retries) are printed at the end of the run.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.factories import contact_payload
from tests.figures import FIGURES
from tests.servers import free_port
from triage.extensions import db
from triage.record.tables import Contact

ROOT = Path(__file__).resolve().parent.parent
LOAD_SECONDS = float(os.environ.get("TRIAGE_KILL_SECONDS", "12"))
KILL_EVERY = 1.5
CLIENTS = 3
SETTLE_SECONDS = 40  # how long a client keeps retrying one contact before the test fails

pytestmark = pytest.mark.crash


def _workers(master: int) -> list[int]:
    """The gunicorn master's worker processes (its children), from /proc."""
    try:
        return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _ready(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return True
        except OSError:
            time.sleep(0.3)
    return False


class Partner(threading.Thread):
    """One partner system: sends unique contacts until told to stop, retrying each until answered."""

    def __init__(self, port: int, token: str, stop: threading.Event, number: int) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.stop, self.number = port, token, stop, number
        self.acknowledged: dict[str, str] = {}  # partner_reference -> the id it was acknowledged with
        self.unsettled: list[str] = []
        self.sent = self.retries = 0

    def send(self, body: bytes) -> tuple[int | None, dict | None]:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            connection.request("POST", "/api/v1/contacts", body=body,
                               headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
            response = connection.getresponse()
            answer = response.read()
            connection.close()
            return response.status, (json.loads(answer) if response.status in (200, 201) else None)
        except (OSError, http.client.HTTPException, ValueError):  # dropped by a killed worker
            return None, None

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            payload = contact_payload(partner_reference=f"KILL-{self.number}-{n:05d}")
            body = json.dumps(payload).encode()
            give_up = time.monotonic() + SETTLE_SECONDS
            self.sent += 1
            while True:
                status, answer = self.send(body)
                if status in (200, 201) and answer:
                    self.acknowledged[payload["partner_reference"]] = answer["id"]
                    break
                if time.monotonic() > give_up:
                    self.unsettled.append(payload["partner_reference"])
                    break
                self.retries += 1
                time.sleep(0.2)


class Exporter(threading.Thread):
    """A manager downloading the year's Annex A List 1 until told to stop; counts whole and cut-short files."""

    def __init__(self, port: int, token: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.stop = port, token, stop
        self.whole = self.cut = 0

    def run(self) -> None:
        since = datetime.date.today() - datetime.timedelta(days=200)  # every contact this test sends
        path = f"/api/v1/exports/annex-a/list-1.csv?from={since.isoformat()}"
        while not self.stop.is_set():
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                connection.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
                response = connection.getresponse()
                response.read()
                connection.close()
                self.whole += response.status == 200
            except (OSError, http.client.HTTPException):
                self.cut += 1
                time.sleep(0.2)


def test_killed_workers_lose_and_duplicate_no_contact(app, people, runner):
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    name = "PostgreSQL" if database.startswith("postgresql") else "SQLite"
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database, "TRIAGE_ENV": "test", "TRIAGE_BIND": f"127.0.0.1:{port}",
           "TRIAGE_WORKERS": "2", "TRIAGE_THREADS": "2", "TRIAGE_API_RATE_LIMIT": "1000000"}
    master = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "wsgi:app"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = threading.Event()
    partners = [Partner(port, people["partner"].token, stop, i) for i in range(CLIENTS)]
    exporter = Exporter(port, people["manager"].token, stop)
    kills = 0
    try:
        assert _ready(port, time.monotonic() + 90), "gunicorn did not start"
        for partner in partners:
            partner.start()
        exporter.start()
        rng = random.Random(18)
        end = time.monotonic() + LOAD_SECONDS
        while time.monotonic() < end:
            time.sleep(KILL_EVERY)
            workers = _workers(master.pid)
            if workers:
                os.kill(rng.choice(workers), signal.SIGKILL)
                kills += 1
        stop.set()
        for partner in partners:
            partner.join(timeout=SETTLE_SECONDS + 20)
        exporter.join(timeout=30)
        assert not any(p.is_alive() for p in partners), "a client never got an answer"
    finally:
        stop.set()
        master.terminate()
        try:
            master.wait(timeout=30)
        except subprocess.TimeoutExpired:
            master.kill()  # never left serving after the test; the failure says which wait it was
            raise AssertionError("gunicorn's arbiter did not stop within 30 s of SIGTERM") from None

    acknowledged = {ref: cid for p in partners for ref, cid in p.acknowledged.items()}
    sent = sum(p.sent for p in partners)
    retries = sum(p.retries for p in partners)
    unsettled = [ref for p in partners for ref in p.unsettled]
    with app.app_context():
        rows = db.session.execute(select(Contact.partner_reference, Contact.id)
                                  .where(Contact.partner_reference.like("KILL-%"))).all()
        per_reference = dict(db.session.execute(
            select(Contact.partner_reference, func.count()).group_by(Contact.partner_reference)).all())
    stored = {ref: cid for ref, cid in rows}
    FIGURES[f"kill-{name}"] = (f"kill test ({name}): {kills} workers killed (SIGKILL) under {CLIENTS} clients; "
                               f"{sent} contacts sent, {retries} retries, {len(acknowledged)} acknowledged, "
                               f"{len(rows)} stored, {sum(n > 1 for n in per_reference.values())} duplicated, "
                               f"{len(unsettled)} unsettled; {exporter.whole} exports whole, {exporter.cut} cut")
    assert kills >= 5
    assert unsettled == []
    assert len(acknowledged) == sent > 0
    assert exporter.whole > 0
    assert all(n == 1 for n in per_reference.values())  # nothing stored twice
    assert stored == acknowledged  # each stored once, under the id it was acknowledged with
    verified = runner.invoke(args=["triage", "audit-verify"])
    assert verified.exit_code == 0, verified.output
    assert "intact" in verified.output
