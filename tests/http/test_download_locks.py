"""A streamed download reads without SQLite's write lock (issue 19 item 4).

The Annex A rows are read while the server sends the file, after the view has returned. If that
read took the write lock, every intake would wait for the whole download.
"""

from __future__ import annotations

import sqlite3

import pytest


def test_a_streamed_annex_a_download_leaves_the_write_lock_free(app, client, people):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite's write lock: PostgreSQL readers never block writers")
    response = client.get("/api/v1/exports/annex-a/list-1.csv", headers=people["manager"].headers, buffered=False)
    assert response.status_code == 200
    other = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0.5, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer (an intake) gets the lock mid-download
        other.execute("ROLLBACK")
        assert response.get_data(as_text=True).startswith("Child Unique ID")
    finally:
        response.close()
        other.close()
