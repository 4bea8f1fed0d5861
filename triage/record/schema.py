"""Whether the store's schema is the one this code was written for (the newest migration).

New code on a store that was not upgraded fails on its first query of a new column, on every
page, as a 500. So the server refuses to start on such a store (``config/gunicorn.conf.py``) and
``/readyz`` says so (a load balancer sends it no traffic), each with what to run. Alembic's
``alembic_version`` row says where the store is; the migration scripts say where the code is.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine, make_url

MIGRATIONS = str(Path(__file__).resolve().parent.parent.parent / "migrations")
UPGRADE = "flask --app wsgi triage init-db"


@cache
def code_revisions() -> frozenset[str]:
    """The newest migration(s) this code ships (read once: the scripts do not change while it runs)."""
    return frozenset(ScriptDirectory(MIGRATIONS).get_heads())


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in ScriptDirectory(MIGRATIONS).walk_revisions())


def store_revisions(connection: Connection) -> frozenset[str]:
    """The migration(s) the store was last upgraded to (none: a store with no schema)."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())


def schema_problem(connection: Connection) -> str | None:
    """None when the store's schema is this code's; otherwise what is wrong and what to do, in one sentence."""
    store, code = store_revisions(connection), code_revisions()
    if store == code:
        return None
    wanted = ", ".join(sorted(code))
    if not store:
        return f"the database has no schema yet: run `{UPGRADE}` to create it (migration {wanted})"
    at = ", ".join(sorted(store))
    if not store <= _known_revisions():
        return (f"the database's schema (migration {at}) is newer than this code's ({wanted}): "
                f"run the code that upgraded it, or a newer release")
    return f"the database's schema is at migration {at} and this code needs {wanted}: run `{UPGRADE}` to upgrade it"


def schema_problem_at(url: str) -> str | None:
    """``schema_problem`` for a database URL, before any app exists (the server's start-up check).

    A SQLite file that does not exist yet is reported as such rather than created empty.
    Raises ``sqlalchemy.exc.OperationalError`` when the database does not answer.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not Path(parsed.database).exists():
        return f"there is no database at {parsed.database}: run `{UPGRADE}` to create it"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return schema_problem(connection)
    finally:
        engine.dispose()


def refresh_statistics(engine: Engine) -> bool:
    """After an upgrade on PostgreSQL, ``VACUUM (ANALYZE)``: the planner and index-only scans see the migrated rows.

    Why: a migration that fills a column writes a new version of every row it touches. Until
    autovacuum comes round, the visibility map no longer vouches for those pages, so an
    index-only scan reads the table as well, and the planner's statistics predate the new
    columns: after migration 0018 at 200,000 contacts the queues took 0.14-0.17 s a page,
    0.03-0.05 s once vacuumed. SQLite keeps no statistics here (its plans, which the tests
    assert, are chosen without them), so it is left alone. Returns whether it ran.
    """
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE)")  # never inside a transaction
    return True
