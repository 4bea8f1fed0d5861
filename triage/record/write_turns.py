"""SQLite writers queue for the write lock instead of sleeping and trying again.

Why: SQLite lets one writer hold its write lock at a time. One that finds it taken waits by
sleeping and trying again (``busy_timeout``), 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, then
100 ms between tries. Under load a writer that has slept long keeps waking just after another has
taken the lock, while newer writers pass it: in ``benchmarks/bench_write_turns.py`` (8 processes,
5 ms writes) the slowest waited 1.3 to 1.8 s; through the service, 8 partners sending at once made the
slowest intakes (p95) take 363 ms at 20k contacts.

Here a writer first takes its turn: an exclusive ``flock`` on a file beside the database
(``<database>-writers``), held from its ``BEGIN IMMEDIATE`` until its COMMIT or ROLLBACK. A
writer waiting for a turn is asleep in the kernel, which wakes it the moment the turn is given
back, so writers take the lock about in the order they asked.

A turn is only a queue in front of SQLite's lock, which still guards every write: a writer that
has waited ``TURN_WAIT`` seconds (a long write elsewhere, such as ``seed-volume``; a turn never
given back) goes on to wait on SQLite's lock as before, and a connection that writes without
taking a turn (the sqlite3 shell, ``audit_worker``) is waited for by SQLite as before. Readers never take
one. An in-memory database has no file beside it and no turns.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading

from triage.record import priority

log = logging.getLogger(__name__)

#: How long a writer waits for its turn before it waits on SQLite's own lock instead, in seconds.
TURN_WAIT = 5.0


class Turns:
    """One connection's place in the queue: its own open lock file (a ``flock`` is held per open file)."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._held = False
        self._guard = threading.Lock()  # between this connection's thread and a waiter given up (``take``)

    def take(self, wait: float | None = None) -> bool:
        """Wait for the turn (at most ``wait`` seconds, ``TURN_WAIT`` by default); True once it is held."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return self._wait(TURN_WAIT if wait is None else wait)
        self._held = True
        return True

    def _wait(self, wait: float) -> bool:
        """Sleep in the kernel for the turn, in a helper thread so that the wait can end (``flock`` has no timeout).

        A helper given up still takes the turn when it comes and gives it straight back.
        """
        given, state = threading.Event(), {"given_up": False}
        fd = os.dup(self._fd)  # the same open file (the same lock), kept open by the helper until it is done

        def queue() -> None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                with self._guard:
                    if state["given_up"]:
                        fcntl.flock(fd, fcntl.LOCK_UN)
                    else:
                        given.set()
            finally:
                os.close(fd)

        threading.Thread(target=queue, name="sqlite-write-turn", daemon=True).start()
        if given.wait(wait):
            self._held = True
            return True
        with self._guard:
            if given.is_set():
                self._held = True
                return True
            state["given_up"] = True
        log.warning("no write turn within %.0f s: waiting on SQLite's own lock", wait)
        return False

    def give_back(self) -> None:
        if self._held:
            self._held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._held = False
        os.close(self._fd)  # the last file open on the lock: any turn it held is given back


def turns_path(database: str) -> str | None:
    """The lock file beside a SQLite database file; None for an in-memory or URI-named database."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-writers"


class TurnTakingConnection(sqlite3.Connection):
    """A pysqlite connection that takes a turn before it writes and gives it back when its transaction ends.

    Given to ``sqlite3.connect`` as its ``factory`` (``create_app``). ``commit`` and ``rollback``
    are where SQLAlchemy (and the pool, returning a connection) end every transaction.
    """

    def __init__(self, database, *args, **kwargs) -> None:
        super().__init__(database, *args, **kwargs)
        self.turns = None
        path = turns_path(os.fsdecode(database))
        if path:
            try:
                self.turns = Turns(path)
            except OSError as exc:  # no file beside the database: SQLite's own wait, as before
                log.warning("no write turns for this database (%s): writers wait on SQLite's lock", exc.strerror)

    def take_turn(self) -> None:
        priority.hold_own()  # a writer holds up every other: never at a report's low priority
        if self.turns is not None:
            self.turns.take()

    def give_back_turn(self) -> None:
        try:
            if self.turns is not None:
                self.turns.give_back()
        finally:
            priority.lower_again()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_back_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_back_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.turns is not None:
                self.turns.close()
                self.turns = None
