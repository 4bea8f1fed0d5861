"""The service serves only a store at this code's migrations, and says what to run when it is not."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from triage.extensions import db
from triage.record.schema import code_revisions, schema_problem, schema_problem_at

ROOT = Path(__file__).resolve().parent.parent.parent
OLDER = "0014_queue_order"


def _stored_revision(app, revision: str) -> None:
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
        db.session.commit()


@pytest.fixture
def behind(app):
    """The test store's version row set to an older or unknown migration, and put back after."""
    (head,) = code_revisions()
    yield lambda revision: _stored_revision(app, revision)
    _stored_revision(app, head)


def test_a_store_at_this_codes_migrations_is_ready(client):
    assert client.get("/readyz").get_json() == {"status": "ok", "database": "reachable", "schema": "up to date"}


def test_a_store_behind_the_code_is_not_ready_and_readyz_says_what_to_run(app, client, behind):
    behind(OLDER)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["database"]) == ("unavailable", "reachable")
    assert f"at migration {OLDER}" in body["schema"] and "flask --app wsgi triage init-db" in body["schema"]
    assert client.get("/healthz").status_code == 200  # the process is up; it is the store that is not ready


def test_a_store_newer_than_the_code_says_so_and_not_to_upgrade(app, behind):
    behind("9999_from_a_later_release")
    with app.app_context():
        problem = schema_problem(db.session.connection())
    assert "newer than this code" in problem and "init-db" not in problem


def test_an_empty_store_and_a_missing_sqlite_file_are_named_without_creating_one(tmp_path):
    missing = tmp_path / "nowhere.db"
    assert "there is no database at" in schema_problem_at(f"sqlite:///{missing}")
    assert not missing.exists()
    sqlite3.connect(tmp_path / "empty.db").close()
    assert "has no schema yet" in schema_problem_at(f"sqlite:///{tmp_path / 'empty.db'}")


def _gunicorn(database: Path, port_bind: str = "127.0.0.1:0") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "TRIAGE_ENV": "test",
           "TRIAGE_BIND": port_bind, "TRIAGE_WORKERS": "1"}
    return subprocess.run([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "wsgi:app"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_server_refuses_to_start_on_a_store_behind_the_code_and_says_what_to_run(tmp_path):
    store = tmp_path / "old.db"
    with sqlite3.connect(store) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES (?)", (OLDER,))
    done = _gunicorn(store)
    assert done.returncode != 0
    (head,) = code_revisions()
    assert (f"triage cannot start: the database's schema is at migration {OLDER} and this code needs {head}: "
            "run `flask --app wsgi triage init-db` to upgrade it") in done.stderr
    assert "Traceback" not in done.stderr and "Booting worker" not in done.stderr


def test_the_server_refuses_to_start_with_no_database_and_creates_none(tmp_path):
    done = _gunicorn(tmp_path / "none.db")
    assert done.returncode != 0 and "triage cannot start: there is no database at" in done.stderr
    assert not (tmp_path / "none.db").exists()
