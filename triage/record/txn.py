"""How a transaction begins on SQLite: reads without the write lock, writes serialised.

SQLite allows one writer at a time. Every transaction used to start with ``BEGIN IMMEDIATE``,
taking the write lock at once, so even a page that only reads queued behind every write. Now a
read-only request (``GET``/``HEAD``, marked with ``reading``) begins a plain deferred
transaction, which in WAL mode reads a consistent snapshot while a writer holds the lock. Anything
such a request must write (a recorded read, a rate-limit count, a check settled) goes through
``writing``: the read transaction ends, a ``BEGIN IMMEDIATE`` transaction takes the write lock
(waiting its turn, never failing half-way), the write commits, and reading resumes. Everything
else (API and page writes, the CLI, tests) begins ``IMMEDIATE`` as before, which is what keeps the
version checks and the audit streams safe. PostgreSQL ignores all of this.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar

from triage.extensions import db

_deferred: ContextVar[bool] = ContextVar("triage_sqlite_deferred", default=False)
#: A write that reads and computes first, then writes in ``write_phase`` (intake), on either database.
_reads_first: ContextVar[bool] = ContextVar("triage_reads_first", default=False)


def begin_statement() -> str:
    """What the SQLite ``begin`` hook issues for the transaction starting now."""
    return "BEGIN" if _deferred.get() else "BEGIN IMMEDIATE"


def reading_now() -> bool:
    """True inside a read-only request on SQLite (its transaction holds no write lock)."""
    return _deferred.get()


def reads_first() -> bool:
    """True in a request that reads and computes before its writes (``write_phase``), on either database."""
    return _reads_first.get()


def start_reads_first():
    """Mark this request as one that reads first: on SQLite it also begins ``reading``. Tokens for ``stop``."""
    return _reads_first.set(True), start_reading()


def stop_reads_first(tokens) -> None:
    first, reading = tokens
    with suppress(ValueError):
        _reads_first.reset(first)
    stop_reading(reading)


def start_reading():
    """Mark the rest of this request read-only (SQLite only); returns the token for ``stop_reading``."""
    if db.engine.dialect.name != "sqlite":
        return None
    return _deferred.set(True)


def stop_reading(token) -> None:
    if token is not None:
        # a stream finished in another context than it began in: leave that context as it was
        with suppress(ValueError):
            _deferred.reset(token)


def commit_keeping_loaded() -> None:
    """Commit without expiring the objects the session holds (SQLAlchemy's default after a commit).

    For a commit in the middle of a request (a rate-limit count) whose objects were read a moment
    ago in the same request: expired, each would be read again, in a transaction of its own, by the
    next line that touches it. Nothing written by this transaction is held back: it is committed.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


@contextmanager
def reading() -> Iterator[None]:
    token = start_reading()
    try:
        yield
    finally:
        stop_reading(token)


@contextmanager
def immediate() -> Iterator[None]:
    """Transactions begun inside take the write lock (``BEGIN IMMEDIATE``), even in a read-only request.

    ``writing`` and ``write_phase`` end the session's read snapshot first. A connection of its own
    that writes beside that snapshot (an export's list, ``audit._store_in_turns``) uses this alone:
    the caller begins and commits on that connection; the session's transaction is left as it is.
    """
    token = _deferred.set(False)
    try:
        yield
    finally:
        _deferred.reset(token)


@contextmanager
def writing() -> Iterator[None]:
    """Write from a read-only request: in a transaction of its own that holds the write lock, committed.

    Outside a read-only request this does nothing: the caller's transaction already holds the lock
    and commits the write with the change it goes with.
    """
    if not _deferred.get():
        yield
        return
    db.session.commit()  # end the read snapshot: a deferred transaction must never upgrade to a write
    with immediate():
        try:
            yield
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise


@contextmanager
def write_phase() -> Iterator[None]:
    """The writes of a request that read first without the write lock (intake on SQLite).

    Such a request (``reading`` from its start) reads and computes in a deferred transaction;
    here that snapshot ends and a ``BEGIN IMMEDIATE`` transaction takes the write lock for what
    must be checked again and written. Unlike ``writing`` this does not commit: the caller commits
    when its answer is made. What the read phase loaded stays loaded (no second read of the token,
    the person, the organisation). Outside a read-first request (a page's POST, the CLI, tests,
    PostgreSQL) the transaction already holds the lock, or needs none, and this does nothing.
    """
    if not _deferred.get():
        yield
        return
    commit_keeping_loaded()  # a read snapshot, nothing written: ends it without forgetting what it read
    with immediate():
        try:
            yield
        except BaseException:
            db.session.rollback()
            raise
