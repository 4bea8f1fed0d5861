"""Fixtures in the Flask tutorial's shape: ``app``, ``client`` and ``runner``, plus people.

The suite runs on SQLite by default and on PostgreSQL when ``TRIAGE_TEST_DATABASE_URL`` is
set (``.ci/run`` does both). Each database is migrated once per session with the real
Alembic migrations; each test then gets a clean store (a fresh copy of the migrated SQLite
file, or truncated PostgreSQL tables).
"""

from __future__ import annotations

import functools
import os
import shutil
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

os.environ["TRIAGE_ENV"] = "test"

from triage.app import create_app  # noqa: E402
from triage.extensions import db  # noqa: E402
from triage.record.queries import organisation_named  # noqa: E402
from triage.record.tables import ApiToken, User  # noqa: E402
from triage.services.security import hash_password, new_token, token_digest  # noqa: E402

PG_URL = os.environ.get("TRIAGE_TEST_DATABASE_URL")
TABLES = ("what_if_runs", "guidance_drafts", "guidance_adoptions", "guidance_versions",
          "audit_findings", "audit_assignments", "audit_samples", "meeting_actions", "meeting_items",
          "meeting_attendees", "meetings", "check_responses", "check_requests", "child_unlinks", "child_links", "child_identifiers", "reviews",
          "information_requests", "feedback_releases", "decisions", "children", "child_records", "contacts",
          "api_tokens", "users", "organisations", "events", "audit_head", "sign_in_failures", "api_request_counts",
          "audit_streams", "audit_checkpoints", "export_contacts", "export_lists",
          "dashboard_days")


def _migrate(url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        from triage.app import MIGRATIONS

        upgrade(directory=MIGRATIONS)
        db.engine.dispose()


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    """Argon2id at its smallest cost: tests make many people and never measure hashing strength."""
    from argon2 import PasswordHasher

    from triage.services import security

    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(scope="session")
def migrated(tmp_path_factory):
    """Migrate once: a template SQLite file, or the PostgreSQL test database from scratch."""
    if PG_URL:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        _migrate(PG_URL)
        return PG_URL
    template = tmp_path_factory.mktemp("db") / "template.db"
    _migrate(f"sqlite:///{template}")
    return template


@functools.cache
def _sequences() -> tuple[str, ...]:
    """Every sequence in the PostgreSQL test schema (all are owned by the tables above): read once."""
    engine = create_engine(PG_URL)
    with engine.connect() as conn:
        found = tuple(conn.execute(text("SELECT relname FROM pg_class WHERE relkind = 'S' "
                                        "AND relnamespace = 'public'::regnamespace")).scalars())
    engine.dispose()
    return found


def _fresh_database(migrated, tmp_path) -> str:
    if PG_URL:
        _empty_postgresql()
        return PG_URL
    path = tmp_path / "triage.db"
    shutil.copy(migrated, path)
    return f"sqlite:///{path}"


def _empty_postgresql() -> None:
    """Every table emptied and every sequence back at 1, as ``TRUNCATE ... RESTART IDENTITY`` would.

    ``DELETE`` with triggers off (``session_replication_role``: no foreign-key checks, and the
    record's append-only triggers stay out of the way) costs 10 ms against TRUNCATE's 70 ms, whose
    price is per table, not per row: two minutes of the suite on PostgreSQL.
    """
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("; ".join(f"DELETE FROM {table}" for table in TABLES)))
        conn.execute(text("SELECT " + ", ".join(f"setval('{name}', 1, false)" for name in _sequences())))
        conn.execute(text("INSERT INTO audit_head (id, seq, last_hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
    engine.dispose()


@pytest.fixture
def app(migrated, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": _fresh_database(migrated, tmp_path), "TESTING": True})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class Person:
    id: int
    email: str
    role: str
    organisation: str | None
    token: str
    password: str = "correct horse battery staple"

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_person(app):
    """``make_person("partner", organisation="Demo Police")`` -> a Person with a fresh token.

    People are stored as accounts that already exist, not through ``triage.accounts`` (which
    records each change), so the record holds only what the test itself does.
    """
    made = iter(range(1, 10_000))

    def make(role: str, organisation: str | None = None, email: str | None = None) -> Person:
        if role == "partner" and organisation is None:
            organisation = "Demo Police"
        email = (email or f"{role}{next(made)}@test.invalid").lower()
        token = new_token()
        with app.app_context():
            user = User(email=email, role=role, organisation=organisation_named(organisation) if organisation else None,
                        password_hash=hash_password(Person.password), is_active=True)
            db.session.add(user)
            db.session.flush()
            db.session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), prefix=token[:8]))
            db.session.commit()
            return Person(user.id, user.email, role, organisation, token)

    return make


@pytest.fixture
def people(make_person):
    """One person per role; the partner and the agency hub worker belong to Demo Police."""
    made = {role: make_person(role) for role in ("practitioner", "manager", "partner", "admin")}
    made["agency"] = make_person("agency", organisation="Demo Police")
    return made


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the figures tests measured (``tests/figures.py``): the fuzz, the kill test."""
    from tests.figures import FIGURES

    if FIGURES:
        terminalreporter.section("figures measured")
        for line in FIGURES.values():
            terminalreporter.write_line(line)
