"""config/gunicorn.conf.py: each worker freezes what it holds once the application is loaded (issue 19).

A full collection walks every object the worker holds, holding the interpreter lock, so a worker
that did not freeze its loaded application stopped every request it served for up to 0.7 s
(``benchmarks/bench_gc_pauses.py``). Checked on gunicorn itself, started with the project's
configuration on a tiny application that answers what its worker's collector keeps out of its passes.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]

APP = '''
import gc

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(gc.get_freeze_count()).encode()]
'''


def _frozen_in_worker(app, tmp_path: Path, **env: str) -> int:
    """How many objects gunicorn's worker had frozen when it answered its first request."""
    (tmp_path / "tiny.py").write_text(APP)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "--pythonpath", str(tmp_path), "tiny:app"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "TRIAGE_ENV": "test",
             "TRIAGE_BIND": f"127.0.0.1:{port}", "TRIAGE_WORKERS": "1", **env})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("GET", "/")
                return int(conn.getresponse().read())
            except OSError:
                time.sleep(0.2)
            finally:
                conn.close()
        pytest.fail("gunicorn did not answer")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_worker_freezes_what_it_holds_once_the_application_is_loaded(app, tmp_path):
    assert _frozen_in_worker(app, tmp_path) > 1000  # the modules gunicorn and the application loaded


def test_turned_off_a_worker_freezes_nothing(app, tmp_path):
    assert _frozen_in_worker(app, tmp_path, TRIAGE_GC_FREEZE="0") == 0
