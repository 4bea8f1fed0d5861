"""The full verification's second core: one check run in a forked helper, in the very same snapshot.

A full ``audit-verify`` reads every event (the chain walk) and every contact (the contents check);
each takes about half the time, one CPU each. ``start`` forks a helper that runs a task (the
contents check) while this process walks the chain, and the answer is taken only as the step it
replaces would have given it: after every check before it passed.

Both read ONE state of the store, so no write made meanwhile can make them disagree (a contact
stored during the verification is seen by neither or by both):

- PostgreSQL: this process's transaction is ``REPEATABLE READ, READ ONLY``; it exports its
  snapshot (``pg_export_snapshot``) and the helper's transaction imports it.
- SQLite (WAL): a snapshot is fixed by a read transaction's first read. A third connection holds
  the write lock (``BEGIN IMMEDIATE``) while both take theirs, so no commit can fall between
  them; it lets go as soon as the helper has its snapshot (milliseconds), and writers go on.

Anything going wrong with the helper (it cannot start, fails, dies) leaves the step to this
process, as before: the helper only ever saves time.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Callable

from sqlalchemy import text

from triage.extensions import db
from triage.record import audit_rows

#: Below this many events a helper costs more (a fork, a connection) than it saves.
PARALLEL_FROM = 20_000
#: How long the snapshot's handover may take before the helper is given up (the write lock is held meanwhile on SQLite).
READY_SECONDS = 10
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9]+)?$")


def begin_snapshot() -> None:
    """Begin the session's read-only transaction: one snapshot for every statement of the verification.

    PostgreSQL: ``REPEATABLE READ, READ ONLY`` (under the default READ COMMITTED each statement read
    its own snapshot, so a contact stored meanwhile was seen without its receipt). SQLite: the
    caller begins it deferred (``txn.reading``); its first read fixes WAL's snapshot.
    """
    if audit_rows.postgres():
        db.session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))


class Helper:
    """A forked process running ``task()`` in this process's snapshot; ``result()`` is what it returned."""

    def __init__(self, task: Callable[[], object]):
        self.task = task
        self.process = None
        self.pipe = None

    def start(self) -> bool:
        """Fix this process's snapshot and, on a store worth it, fork the helper into it; True if it runs.

        Must come before any other statement of the transaction (on SQLite the lock is taken
        first, then our first read fixes the snapshot). On False nothing is left running.
        """
        if "fork" not in multiprocessing.get_all_start_methods():
            return False
        context = multiprocessing.get_context("fork")
        lock = None
        ready = False
        try:
            if not audit_rows.postgres():
                lock = db.engine.raw_connection()
                lock.dbapi_connection.execute("BEGIN IMMEDIATE")
            events = db.session.execute(text("SELECT max(seq) FROM events")).scalar() or 0  # fixes our snapshot
            if events < PARALLEL_FROM:
                return False
            snapshot = None
            if audit_rows.postgres():
                snapshot = db.session.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            ours, theirs = context.Pipe(duplex=False)
            self.pipe = ours
            self.process = context.Process(target=_run, args=(theirs, self.task, snapshot), daemon=True)
            self.process.start()
            theirs.close()
            ready = ours.poll(READY_SECONDS) and ours.recv() == "ready"
        except Exception:  # noqa: BLE001 - no helper then: the step runs here as before
            ready = False
        finally:
            if lock is not None:
                lock.dbapi_connection.execute("ROLLBACK")
                lock.close()
            if not ready:
                self.stop()
        return ready

    def result(self):
        """What the task returned, or ``NotImplemented`` if the helper failed (then the caller does the step)."""
        try:
            status, value = self.pipe.recv()
        except (EOFError, OSError):
            return NotImplemented
        finally:
            self.stop()
        return value if status == "returned" else NotImplemented

    def stop(self) -> None:
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join()
        if self.pipe is not None:
            self.pipe.close()
        self.process = self.pipe = None


def _run(pipe, task: Callable[[], object], snapshot: str | None) -> None:
    """In the helper: a connection of its own, in the parent's snapshot, then the task; its answer down the pipe.

    The parent's connections were copied by the fork and are never touched here (``dispose(close=False)``).
    """
    try:
        db.engine.dispose(close=False)
        connection = db.engine.raw_connection().dbapi_connection
        cursor = connection.cursor()
        if snapshot is not None:
            if not _SNAPSHOT_ID.match(snapshot):
                raise ValueError("not a snapshot id")
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        else:
            cursor.execute("BEGIN")
        cursor.execute("SELECT max(seq) FROM events").fetchall()  # SQLite: our snapshot, while the parent holds the lock
        cursor.close()
        pipe.send("ready")
        audit_rows.use(connection)
        pipe.send(("returned", task()))
    except BaseException:  # noqa: BLE001 - the parent sees EOF and does the step itself
        pipe.close()
        os._exit(1)
    pipe.close()
