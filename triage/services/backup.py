"""Backup and restore: the whole database to one file and back (issue 18 item 13).

PostgreSQL through its own tools: ``pg_dump --format=custom`` writes the file, ``pg_restore
--clean --if-exists --single-transaction`` puts it back (all of it or, if anything fails, none).
SQLite through its online backup API (``sqlite3.Connection.backup``): a consistent copy taken
while the service runs, and the same API copies a backup back over the database.

A restore refuses to overwrite a database that already holds contacts, events or people unless
told to (``force``): restoring over live data is a decision, not an accident. Every refusal is a
``BackupError`` with one line a person can act on. The file is never read as anything but a
backup of the kind the database is (SQLite's header, or ``pg_restore --list``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

SQLITE_HEADER = b"SQLite format 3\x00"
PG_HEADER = b"PGDMP"
#: What makes a database "not empty": any row in these (when they exist).
HOLDERS = ("contacts", "events", "users")


class BackupError(Exception):
    """A backup or restore that cannot go ahead, in one line."""


def _kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups are for SQLite or PostgreSQL databases, not {backend}.")
    return backend


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("This SQLite database lives in memory; there is no file to back up or restore.")
    return Path(database)


def _libpq(url: str) -> str:
    """The URL as PostgreSQL's own tools read it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} was not found: install PostgreSQL's client tools (make pgtools).")
    return path


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(f"{Path(command[0]).name} failed: {lines[-1] if lines else 'no message'}")


def holdings(url: str) -> dict[str, int]:
    """Rows in the tables that make a database worth keeping (only those that exist)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
            return {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in HOLDERS if table in present}
    finally:
        engine.dispose()


def backup(url: str, target: Path) -> int:
    """Write the whole database to ``target`` (replaced only once the copy is complete); its size."""
    target = Path(target)
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give a file name for the backup.")
    if not target.parent.is_dir():
        raise BackupError(f"The folder {target.parent} does not exist.")
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    try:
        if _kind(url) == "sqlite":
            source = _sqlite_path(url)
            if not source.exists():
                raise BackupError(f"There is no SQLite database at {source}.")
            with sqlite3.connect(source) as live, sqlite3.connect(partial) as copy:
                live.backup(copy)  # the online backup API: a consistent copy while writers carry on
            sqlite3.connect(partial).close()
        else:
            _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                  f"--file={partial}", f"--dbname={_libpq(url)}"])
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target.stat().st_size


def _check_file(source: Path, kind: str) -> None:
    if not source.is_file():
        raise BackupError(f"There is no backup file at {source}.")
    with source.open("rb") as handle:
        header = handle.read(16)
    if kind == "sqlite" and header != SQLITE_HEADER:
        what = "a PostgreSQL backup" if header.startswith(PG_HEADER) else "not a SQLite database"
        raise BackupError(f"{source} is {what}; this database is SQLite.")
    if kind == "postgresql" and not header.startswith(PG_HEADER):
        what = "a SQLite backup" if header == SQLITE_HEADER else "not a pg_dump custom-format file"
        raise BackupError(f"{source} is {what}; this database is PostgreSQL.")
    if kind == "sqlite":
        try:
            with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as copy:
                tables = {row[0] for row in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} cannot be read as a SQLite database ({exc}).") from None
        if "events" not in tables:
            raise BackupError(f"{source} is a SQLite database but not a backup of this service (no record in it).")
    else:
        _run([_tool("pg_restore"), "--list", str(source)])


def restore(url: str, source: Path, *, force: bool = False) -> None:
    """Replace the database's contents with the backup in ``source``.

    Refused (and nothing changed) when the file is not a backup of this kind of database, or when
    the database holds contacts, events or people and ``force`` is not given.
    """
    source = Path(source)
    kind = _kind(url)
    if kind == "sqlite":
        _sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
    _check_file(source, kind)
    held = {table: n for table, n in holdings(url).items() if n}
    if held and not force:
        counts = ", ".join(f"{n} {table}" for table, n in held.items())
        raise BackupError(f"Refused: the database is not empty ({counts}); "
                          "restore --force replaces everything in it with the backup.")
    if kind == "sqlite":
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as backup_copy, \
                sqlite3.connect(_sqlite_path(url)) as live:
            backup_copy.backup(live)  # page by page, under the database's own lock
    else:
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", "--exit-on-error", f"--dbname={_libpq(url)}", str(source)])
