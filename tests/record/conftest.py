"""Fixtures for the record's tests."""

from __future__ import annotations

import pytest

from triage.extensions import db


@pytest.fixture
def sqlite_path(app) -> str:
    """The test store's SQLite file; the test is skipped on PostgreSQL (SQLite's locking only)."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's locking only")
        return db.engine.url.database
