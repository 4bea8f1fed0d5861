"""A gunicorn worker serving a report or an export takes no new connections; one worker always does (issue 19).

First the note of stopped workers on its own (stand-in workers), then gunicorn itself, started with
``config/gunicorn.conf.py`` as in production (two workers of two threads) on a tiny application
whose export path waits: while one worker serves that export, every new connection is served by
the other; with both serving exports, the last one still answers.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.servers import free_port
from triage.http.bulk_workers import BulkWorkers

ROOT = Path(__file__).resolve().parents[2]
EXPORT = "/api/v1/exports/annex-a/list-1.csv"
#: How long the tiny application's export takes, seconds.
SLOW = 3.0


def _worker(pid: int, workers: int = 4):
    """What the note reads of a gunicorn gthread worker."""
    cfg = SimpleNamespace(workers=workers, worker_connections=1000)
    return SimpleNamespace(pid=pid, cfg=cfg, worker_connections=1000)


def test_a_worker_serving_an_export_stops_accepting_until_its_last_one_is_answered():
    note, worker = BulkWorkers(), _worker(101)
    note.started(worker, EXPORT)
    note.started(worker, "/reports/dashboard")
    assert worker.worker_connections == 0 and note.stopped() == [101]
    note.finished(worker, EXPORT)
    assert worker.worker_connections == 0
    note.finished(worker, "/reports/dashboard")
    assert worker.worker_connections == 1000 and note.stopped() == []


def test_other_requests_and_one_thread_workers_are_left_alone():
    note, worker = BulkWorkers(), _worker(101)
    note.started(worker, "/api/v1/contacts")
    assert worker.worker_connections == 1000
    sync = SimpleNamespace(pid=102, cfg=SimpleNamespace(workers=4))  # gunicorn's sync worker: no such attribute
    note.started(sync, EXPORT)
    assert not hasattr(sync, "worker_connections") and note.stopped() == []


def test_the_last_worker_accepting_goes_on_accepting():
    note = BulkWorkers()
    workers = [_worker(pid, workers=3) for pid in (1, 2, 3)]
    for worker in workers:
        note.started(worker, EXPORT)
    assert [w.worker_connections for w in workers] == [0, 0, 1000]
    note.finished(workers[0], EXPORT)
    assert note.stopped() == [2]


def test_a_worker_that_dies_mid_export_is_struck_off():
    note = BulkWorkers()
    note.started(_worker(7, workers=2), EXPORT)
    note.exited(7)  # the arbiter's child_exit
    other = _worker(8, workers=2)
    note.started(other, EXPORT)
    assert other.worker_connections == 0


def test_a_worker_killed_while_holding_the_note_leaves_it_free():
    """SIGKILL in the middle of the note (the OOM killer, gunicorn's timeout) must not stall the arbiter for ever."""
    note = BulkWorkers()
    pid = os.fork()
    if pid == 0:  # the worker: killed while it holds the note
        try:
            with note.locked():
                os.kill(os.getpid(), signal.SIGKILL)
        finally:
            os._exit(1)
    os.waitpid(pid, 0)
    arbiter = threading.Thread(target=note.exited, args=(pid,), daemon=True)  # gunicorn's child_exit
    arbiter.start()
    arbiter.join(timeout=5)
    assert not arbiter.is_alive(), "the arbiter waits for a lock a dead worker held"
    other = _worker(8, workers=2)
    note.started(other, EXPORT)
    assert other.worker_connections == 0 and note.stopped() == [8]


def test_turned_off_it_changes_nothing():
    note, worker = BulkWorkers(enabled=False), _worker(101)
    note.started(worker, EXPORT)
    assert worker.worker_connections == 1000


APP = f'''
import os, time

def app(environ, start_response):
    if environ["PATH_INFO"] == "{EXPORT}":
        time.sleep({SLOW})
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
'''


@pytest.fixture
def gunicorn(app, tmp_path):
    """config/gunicorn.conf.py with two workers of two threads, serving the tiny application; its port."""
    (tmp_path / "tiny.py").write_text(APP)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "TRIAGE_ENV": "test",
           "TRIAGE_BIND": f"127.0.0.1:{port}", "TRIAGE_WORKERS": "2", "TRIAGE_THREADS": "2"}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py",
                                "--pythonpath", str(tmp_path), "tiny:app"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len({_get(port, "/") for _ in range(20)} - {None}) < 2:  # both workers answer
            if time.monotonic() > deadline:
                pytest.fail("gunicorn did not start two workers")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _get(port: int, path: str) -> str | None:
    """The pid of the worker that answered ``path`` on a new connection (None if nothing listens yet)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        return conn.getresponse().read().decode()
    except OSError:
        return None
    finally:
        conn.close()


def _exporting(port: int) -> tuple[threading.Thread, list[str]]:
    answered: list[str] = []
    thread = threading.Thread(target=lambda: answered.append(_get(port, EXPORT)))
    thread.start()
    return thread, answered


def test_while_one_worker_serves_an_export_the_other_takes_every_new_connection(gunicorn):
    thread, exporter = _exporting(gunicorn)
    time.sleep(0.5)  # the export has begun
    quick = [_get(gunicorn, "/") for _ in range(12)]
    thread.join()
    assert exporter[0] not in quick, "a worker busy with an export took a new connection"
    assert len(set(quick)) == 1
    assert _get(gunicorn, "/") is not None


def test_with_every_worker_serving_an_export_the_last_still_answers(gunicorn):
    exports = [_exporting(gunicorn) for _ in range(2)]
    time.sleep(0.5)
    started = time.monotonic()
    assert _get(gunicorn, "/") is not None
    answered_in = time.monotonic() - started
    for thread, _ in exports:
        thread.join()
    assert answered_in < SLOW / 2, "nothing accepted a connection while both workers served exports"
