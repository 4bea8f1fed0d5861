"""SQLite's query plans for the statements an action runs: a test names the index a read must use.

PostgreSQL chooses by its statistics, so plans are asserted on SQLite only. Call inside an app context.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import event

from triage.extensions import db


def explained(action: Callable[[], object]) -> dict[str, str]:
    """Each statement ``action`` runs, with its SQLite plan on one line (the last run's parameters)."""
    statements: dict[str, object] = {}

    def listener(_conn, _cursor, statement, parameters, *_):
        statements[statement] = parameters

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return {statement: " ".join(str(row[-1]) for row in db.session.connection().exec_driver_sql(
        f"EXPLAIN QUERY PLAN {statement}", parameters)) for statement, parameters in statements.items()}


def sqlite_plans(action: Callable[[], object], mentioning: str) -> list[str]:
    """The plans of the statements ``action`` runs whose SQL mentions ``mentioning``; skipped on PostgreSQL."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan (PostgreSQL chooses by its statistics)")
    return [plan for statement, plan in explained(action).items() if mentioning in statement]
