"""SQLite's query plans for the statements an action runs: a test names the index a read must use.

PostgreSQL chooses by its statistics, so plans are asserted on SQLite only (``sqlite_plans``
skips otherwise). Call inside an app context.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import event

from triage.extensions import db


def sqlite_plans(action: Callable[[], object], mentioning: str) -> list[str]:
    """The plan of each statement ``action`` runs whose SQL mentions ``mentioning``, one line each."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan (PostgreSQL chooses by its statistics)")
    statements = []

    def listener(_conn, _cursor, statement, parameters, *_):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return [" ".join(str(row[-1]) for row in db.session.connection().exec_driver_sql(
        f"EXPLAIN QUERY PLAN {statement}", parameters)) for statement, parameters in statements if mentioning in statement]
