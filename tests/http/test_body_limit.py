"""The body limit holds however the body arrives, and an ordinary client can read the 413.

These run the app in a real HTTP server (Werkzeug's, in a thread) and talk to it over sockets:
the test client cannot send a chunked body or show a connection reset.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests.factories import contact_payload
from tests.servers import free_port
from triage.extensions import db
from triage.record.tables import Contact

LIMIT = 64 * 1024
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(params=["werkzeug", "gunicorn"])
def server(request, app) -> Iterator[tuple[str, int]]:
    """The app behind Werkzeug's server in a thread, or gunicorn (as in production) in a process."""
    app.config["MAX_CONTENT_LENGTH"] = LIMIT
    if request.param == "gunicorn":
        yield from _gunicorn(app.config["SQLALCHEMY_DATABASE_URI"])
        return
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", httpd.server_port
    httpd.shutdown()
    thread.join(timeout=10)


def _gunicorn(database_url: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "TRIAGE_ENV": "test", "TRIAGE_MAX_BODY_BYTES": str(LIMIT),
           "TRIAGE_BIND": f"127.0.0.1:{port}", "TRIAGE_WORKERS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "wsgi:app"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not start")
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=30)


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Contact))


def padded(size: int) -> bytes:
    """A valid contact padded with JSON whitespace to ``size`` bytes: only its length is wrong."""
    body = json.dumps(contact_payload()).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def chunked_post(address: tuple[str, int], token: str, body: bytes, piece: int = 16 * 1024) -> tuple[int, dict]:
    """POST ``body`` with Transfer-Encoding: chunked over a raw socket; the status and the JSON answer."""
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(b"POST /api/v1/contacts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                     + f"Authorization: Bearer {token}\r\n".encode()
                     + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        for start in range(0, len(body), piece):
            part = body[start:start + piece]
            sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        sock.sendall(b"0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    if b"transfer-encoding: chunked" in head.lower():
        payload = _dechunk(payload)
    return status, json.loads(payload)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size, _, rest = data.partition(b"\r\n")
        length = int(size, 16)
        if length == 0:
            break
        out, data = out + rest[:length], rest[length + 2:]
    return out


def test_a_chunked_body_over_the_limit_gets_a_413_problem_and_stores_nothing(app, people, server):
    before = stored(app)
    status, problem = chunked_post(server, people["partner"].token, padded(LIMIT + 50_000))
    assert status == 413 and problem["status"] == 413 and problem["title"] == "Request body too large"
    assert str(LIMIT) in problem["detail"]
    assert stored(app) == before


def test_a_chunked_body_within_the_limit_is_a_contact(app, people, server):
    status, created = chunked_post(server, people["partner"].token, padded(LIMIT - 1000))
    assert status == 201, created
    assert stored(app) == 1


def test_an_ordinary_client_sending_five_megabytes_reads_the_413_problem(app, people, server):
    """http.client sends the whole body before reading: the server must not reset the connection."""
    connection = http.client.HTTPConnection(*server, timeout=60)
    connection.request("POST", "/api/v1/contacts", body=padded(5 * 1024 * 1024),
                       headers={"Content-Type": "application/json",
                                "Authorization": f"Bearer {people['partner'].token}"})
    response = connection.getresponse()
    problem = json.loads(response.read())
    connection.close()
    assert response.status == 413 and problem["status"] == 413
    assert response.getheader("Content-Type") == "application/problem+json"
    assert stored(app) == 0
